package gemini

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, 404, llm.KindNotFound, "no such model")
	if w.Code != 404 || w.Body.String() != `{"error":{"code":404,"message":"no such model","status":"NOT_FOUND"}}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
