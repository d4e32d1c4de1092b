package openai

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, 401, llm.KindAuthentication, "Invalid API key.")
	if w.Code != 401 || w.Body.String() != `{"error":{"message":"Invalid API key.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
