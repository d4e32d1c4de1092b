package anthropic

import (
	"testing"

	"aether/internal/llm"
	"aether/internal/testkit/dialecttest"
)

func TestStreamUsage(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		usage llm.Usage
	}{
		// input excludes cache: 13 uncached, 17 read, writes split 3 (5m) / 2 (1h).
		{"split cache writes, totals repeated in message_delta", "testdata/messages.sse",
			llm.Usage{InputTokens: 13, CacheReadTokens: 17, CacheWrite5mTokens: 3, CacheWrite1hTokens: 2, OutputTokens: 11, Known: true}},
		{"flat cache_creation_input_tokens counts as 5-minute writes", "testdata/messages_flat_cache.sse",
			llm.Usage{InputTokens: 25, CacheWrite5mTokens: 1200, OutputTokens: 42, Known: true}},
		{"1-hour writes kept apart", "testdata/messages_1h_cache.sse",
			llm.Usage{InputTokens: 4, CacheReadTokens: 15000, CacheWrite1hTokens: 3000, OutputTokens: 900, Known: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialecttest.Replay(t, Dialect{}, tt.file, false)
			if r.Usage != tt.usage {
				t.Fatalf("usage %+v, want %+v", r.Usage, tt.usage)
			}
			if !r.Complete || r.FirstErr {
				t.Fatalf("complete %v first-error %v", r.Complete, r.FirstErr)
			}
		})
	}
}

func TestBodyUsage(t *testing.T) {
	body := `{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":200,"cache_creation":{"ephemeral_5m_input_tokens":60,"ephemeral_1h_input_tokens":40},"output_tokens":5}}`
	want := llm.Usage{InputTokens: 10, CacheReadTokens: 200, CacheWrite5mTokens: 60, CacheWrite1hTokens: 40, OutputTokens: 5, Known: true}
	if u := (Dialect{}).BodyUsage([]byte(body)); u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
}

func TestIsError(t *testing.T) {
	s := Dialect{}.NewStream(false)
	if !s.IsError("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)) {
		t.Fatal("error event not detected")
	}
	if s.IsError("content_block_delta", []byte(`{"delta":{"text":"\"type\":\"error\""}}`)) {
		t.Fatal("text mentioning an error taken for an error")
	}
}

func FuzzObserve(f *testing.F) {
	dialecttest.FuzzObserve(f, Dialect{}, "testdata/messages.sse", "testdata/messages_1h_cache.sse")
}

// TestStreamEnd: message_stop completes a stream; an error event after
// the first event fails it, whatever follows.
func TestStreamEnd(t *testing.T) {
	const (
		start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
		delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
		usage = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n"
		stop  = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
		fail  = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	)
	for _, tt := range []struct {
		name             string
		stream           string
		complete, failed bool
	}{
		{"whole", start + delta + usage + stop, true, false},
		{"without message_stop", start + delta + usage, false, false},
		{"error event", start + delta + fail, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dialecttest.ReplayBytes(Dialect{}, []byte(tt.stream), false, false)
			if r.Complete != tt.complete || r.Failed != tt.failed || r.FirstErr {
				t.Fatalf("complete %v failed %v first-error %v", r.Complete, r.Failed, r.FirstErr)
			}
		})
	}
}
