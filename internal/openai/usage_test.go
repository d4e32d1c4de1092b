package openai

import (
	"bytes"
	"strings"
	"testing"

	"aether/internal/llm"
	"aether/internal/testkit/dialecttest"
)

func TestStreamUsage(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		injected bool
		usage    llm.Usage
		// usageChunkForwarded: whether the client receives the usage chunk.
		usageChunkForwarded bool
	}{
		// prompt 35 incl. 17 cached; completion 11 incl. 4 reasoning.
		{"chat, client asked for usage", "testdata/chat_include_usage.sse", false, llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}, true},
		{"chat, gateway asked for usage", "testdata/chat_include_usage.sse", true, llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}, false},
		{"responses", "testdata/responses.sse", false, llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}, true},
		{"chat without usage", "testdata/chat_no_usage.sse", false, llm.Usage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialecttest.Replay(t, Dialect{}, tt.file, tt.injected)
			if r.Usage != tt.usage {
				t.Fatalf("usage %+v, want %+v", r.Usage, tt.usage)
			}
			if !r.Complete {
				t.Fatal("terminal event not seen")
			}
			if got := bytes.Contains(r.Forwarded, []byte(`"choices":[],"usage"`)); strings.Contains(tt.file, "chat_include") && got != tt.usageChunkForwarded {
				t.Fatalf("usage chunk forwarded = %v, want %v", got, tt.usageChunkForwarded)
			}
		})
	}
}

func TestBodyUsage(t *testing.T) {
	chat := `{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":256}}}`
	resp := `{"object":"response","usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":10},"total_tokens":1050}}`
	if u := (Dialect{}).BodyUsage([]byte(chat)); u != (llm.Usage{InputTokens: 86, CacheReadTokens: 1920, OutputTokens: 300, ReasoningTokens: 256, Known: true}) {
		t.Fatalf("chat usage %+v", u)
	}
	if u := (Dialect{}).BodyUsage([]byte(resp)); u != (llm.Usage{InputTokens: 1000, OutputTokens: 50, ReasoningTokens: 10, Known: true}) {
		t.Fatalf("responses usage %+v", u)
	}
	if u := (Dialect{}).BodyUsage([]byte(`{"usage":null}`)); u.Known {
		t.Fatal("null usage is not known usage")
	}
}

func TestIsError(t *testing.T) {
	s := Dialect{}.NewStream(false)
	for _, tt := range []struct {
		name, data string
		want       bool
	}{
		{"", `{"error":{"message":"overloaded","type":"server_error"}}`, true},
		{"error", `{"type":"error","error":{"message":"x"}}`, true},
		{"response.failed", `{}`, true},
		{"", `{"choices":[{"delta":{"content":"an \"error\": word"}}]}`, false},
		{"", `{"error":null,"choices":[]}`, false},
	} {
		if got := s.IsError(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("IsError(%q, %s) = %v", tt.name, tt.data, got)
		}
	}
}

func FuzzObserve(f *testing.F) {
	dialecttest.FuzzObserve(f, Dialect{}, "testdata/chat_include_usage.sse", "testdata/responses.sse")
}

// TestStreamEnd: how each kind of stream end reads (docs/wire-formats.md).
func TestStreamEnd(t *testing.T) {
	const (
		role   = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n"
		text   = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"finish_reason\\\": \\\"stop\\\"\"},\"finish_reason\":null}]}\n\n"
		finish = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\" : \"length\"}]}\n\n"
		doneEv = "data: [DONE]\n\n"
		errEv  = "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"
	)
	resp := func(typ, extra string) string {
		return "event: " + typ + "\ndata: {\"type\":\"" + typ + "\"" + extra + "}\n\n"
	}
	created := resp("response.created", `,"response":{"status":"in_progress"}`)
	for _, tt := range []struct {
		name             string
		stream           string
		complete, failed bool
	}{
		{"chat whole", role + text + finish + doneEv, true, false},
		{"chat without finish_reason", role + text + doneEv, false, false},
		{"chat without [DONE]", role + text + finish, true, false},
		{"chat cut short", role + text, false, false},
		{"chat error object after the first chunk", role + text + errEv, false, true},
		{"responses completed", created + resp("response.completed", `,"response":{"status":"completed","usage":{"input_tokens":3,"output_tokens":2}}`), true, false},
		{"responses incomplete (max tokens)", created + resp("response.incomplete", `,"response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}`), true, false},
		{"responses failed", created + resp("response.failed", `,"response":{"status":"failed","error":{"code":"server_error","message":"x"}}`), false, true},
		{"responses error event", created + resp("error", `,"code":"server_error","message":"x","sequence_number":1`), false, true},
		{"responses without its terminal event", created + resp("response.output_text.delta", `,"delta":"hi"`), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dialecttest.ReplayBytes(Dialect{}, []byte(tt.stream), false, false)
			if r.Complete != tt.complete || r.Failed != tt.failed {
				t.Fatalf("complete %v failed %v, want %v %v", r.Complete, r.Failed, tt.complete, tt.failed)
			}
		})
	}
}
