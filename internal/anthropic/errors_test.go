package anthropic

import (
	"net/http/httptest"
	"testing"

	"aether/internal/llm"
)

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, 429, llm.KindRateLimit, "slow down")
	if w.Code != 429 || w.Body.String() != `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
