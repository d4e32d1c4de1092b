package anthropic

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, llm.KindRateLimit, "slow down")
	if w.Code != 429 || w.Body.String() != `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}` {
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
