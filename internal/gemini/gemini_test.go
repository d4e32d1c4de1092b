package gemini

import (
	"net/http/httptest"
	"testing"

	"aether/internal/core"
	"aether/internal/dialecttest"
)

func TestStreamUsage(t *testing.T) {
	// prompt 35 incl. 17 cached; candidates 7 + thoughts 4 billed as output.
	want := core.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}
	for _, file := range []string{"testdata/stream.sse", "testdata/stream_array.json"} {
		t.Run(file, func(t *testing.T) {
			r := dialecttest.Replay(t, Dialect{}, file, false)
			if r.Usage != want {
				t.Fatalf("usage %+v, want %+v", r.Usage, want)
			}
			if !r.Complete {
				t.Fatal("finish reason not seen")
			}
		})
	}
}

func TestBodyUsage(t *testing.T) {
	body := `{"candidates":[],"usageMetadata":{"promptTokenCount":1000,"candidatesTokenCount":20,"thoughtsTokenCount":300,"cachedContentTokenCount":600,"totalTokenCount":1320}}`
	want := core.Usage{InputTokens: 400, CacheReadTokens: 600, OutputTokens: 320, ReasoningTokens: 300, Known: true}
	if u := (Dialect{}).BodyUsage([]byte(body)); u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	Dialect{}.WriteError(w, 404, core.KindNotFound, "no such model")
	if w.Code != 404 || w.Body.String() != `{"error":{"code":404,"message":"no such model","status":"NOT_FOUND"}}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func FuzzObserve(f *testing.F) {
	dialecttest.FuzzObserve(f, Dialect{}, "testdata/stream.sse", "testdata/stream_array.json")
}
