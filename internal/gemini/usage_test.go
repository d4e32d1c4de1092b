package gemini

import (
	"testing"

	"aether/internal/llm"
	"aether/internal/testkit/dialecttest"
)

func TestStreamUsage(t *testing.T) {
	// prompt 35 incl. 17 cached; candidates 7 + thoughts 4 billed as output.
	want := llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}
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
	want := llm.Usage{InputTokens: 400, CacheReadTokens: 600, OutputTokens: 320, ReasoningTokens: 300, Known: true}
	if u := (Dialect{}).BodyUsage([]byte(body)); u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
}

func FuzzObserve(f *testing.F) {
	dialecttest.FuzzObserve(f, Dialect{}, "testdata/stream.sse", "testdata/stream_array.json")
}

// TestStreamEnd: a finishReason (with or without usage on the same chunk)
// or a blocked prompt's blockReason completes a stream; an error object
// after the first chunk fails it.
func TestStreamEnd(t *testing.T) {
	const (
		text     = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3}}\r\n\r\n"
		finish   = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\",\"index\":0}]}\r\n\r\n"
		blocked  = "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":3,\"totalTokenCount\":3}}\r\n\r\n"
		errChunk = "data: {\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}\r\n\r\n"
	)
	for _, tt := range []struct {
		name             string
		stream           string
		complete, failed bool
	}{
		{"finish reason without usage", text + finish, true, false},
		{"blocked prompt", blocked, true, false},
		{"without finish reason", text + text, false, false},
		{"error chunk", text + errChunk, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dialecttest.ReplayBytes(Dialect{}, []byte(tt.stream), false, false)
			if r.Complete != tt.complete || r.Failed != tt.failed {
				t.Fatalf("complete %v failed %v, want %v %v", r.Complete, r.Failed, tt.complete, tt.failed)
			}
		})
	}
}
