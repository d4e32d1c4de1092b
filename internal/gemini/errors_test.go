package gemini

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, llm.KindNotFound, "no such model")
	if w.Code != 404 || w.Body.String() != `{"error":{"code":404,"message":"no such model","status":"NOT_FOUND"}}` {
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
