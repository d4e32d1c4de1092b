package openai

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, llm.KindAuthentication, "Invalid API key.")
	if w.Code != 401 || w.Body.String() != `{"error":{"message":"Invalid API key.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestEveryKind: every gateway error kind has an error type here.
func TestEveryKind(t *testing.T) {
	for _, k := range llm.Kinds() {
		if _, ok := kinds[k]; !ok {
			t.Errorf("no error type for kind %s", k)
		}
	}
}
