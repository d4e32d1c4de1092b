package fakeupstream_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"aether/internal/testkit/fakeupstream"
)

func TestKnobPrecedence(t *testing.T) {
	t.Parallel()
	cfg := fakeupstream.Config{
		Knobs: fakeupstream.Knobs{Chunks: 5, InputTokens: 100},
		ByKey: map[string]fakeupstream.Knobs{
			"k-seven": {Chunks: 7},
			"k-nocache": {
				CacheReadTokens: fakeupstream.Zero, CacheWrite5mTokens: fakeupstream.Zero,
				CacheWrite1hTokens: fakeupstream.Zero, ReasoningTokens: fakeupstream.Zero,
			},
		},
	}
	tests := []struct {
		name       string
		key        string
		headers    []string
		wantChunks int
		// wantPrompt and wantCompletion are OpenAI prompt and completion tokens.
		wantPrompt, wantCompletion int
	}{
		{name: "config", key: "k-other", wantChunks: 5, wantPrompt: 100 + 17 + 3 + 2, wantCompletion: 11},
		{name: "by key over config", key: "k-seven", wantChunks: 7, wantPrompt: 122, wantCompletion: 11},
		{name: "header over by key", key: "k-seven", headers: []string{fakeupstream.HeaderChunks, "2"}, wantChunks: 2, wantPrompt: 122, wantCompletion: 11},
		{name: "header zero", key: "k-seven", headers: []string{fakeupstream.HeaderChunks, "0"}, wantChunks: 0, wantPrompt: 122, wantCompletion: 11},
		{name: "Zero in by key", key: "k-nocache", wantChunks: 5, wantPrompt: 100, wantCompletion: 7},
		{
			name: "token headers", key: "k-other",
			headers: []string{
				fakeupstream.HeaderInputTokens, "1", fakeupstream.HeaderCacheReadTokens, "0", fakeupstream.HeaderCacheWrite5mTokens, "0",
				fakeupstream.HeaderCacheWrite1hTokens, "0", fakeupstream.HeaderOutputTokens, "20", fakeupstream.HeaderReasoningTokens, "0",
			},
			wantChunks: 5, wantPrompt: 1, wantCompletion: 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, cfg)
			resp := do(t, http.MethodPost, srv.URL+"/v1/chat/completions", chatBody, append([]string{"Authorization", "Bearer " + tt.key}, tt.headers...)...)
			body := decodeJSON(t, readAll(t, resp))
			if got := path(body, "choices", 0, "message", "content"); got != fakeupstream.ExpectedText(tt.wantChunks) {
				t.Errorf("text = %q, want %q", got, fakeupstream.ExpectedText(tt.wantChunks))
			}
			if p, c := num(path(body, "usage", "prompt_tokens")), num(path(body, "usage", "completion_tokens")); p != tt.wantPrompt || c != tt.wantCompletion {
				t.Errorf("prompt %d completion %d, want %d %d", p, c, tt.wantPrompt, tt.wantCompletion)
			}
		})
	}
}

// TestTokenMapping checks one set of distinct buckets in every format, as
// documented in the package comment.
func TestTokenMapping(t *testing.T) {
	t.Parallel()
	const i, r, w5, w1, o, th = 1000, 200, 30, 4, 50, 6
	knobs := fakeupstream.Knobs{
		InputTokens: i, CacheReadTokens: r, CacheWrite5mTokens: w5, CacheWrite1hTokens: w1, OutputTokens: o, ReasoningTokens: th,
	}
	tests := []struct {
		name, path, body string
		headers          []string
		want             map[string]int // dotted path → value
	}{
		{
			name: "openai chat", path: "/v1/chat/completions", body: chatBody, headers: []string{"Authorization", "Bearer k"},
			want: map[string]int{
				"usage.prompt_tokens": i + r + w5 + w1, "usage.prompt_tokens_details.cached_tokens": r,
				"usage.completion_tokens": o + th, "usage.completion_tokens_details.reasoning_tokens": th,
				"usage.total_tokens": i + r + w5 + w1 + o + th,
			},
		},
		{
			name: "openai responses", path: "/v1/responses", body: `{"model":"m","input":"hi"}`, headers: []string{"Authorization", "Bearer k"},
			want: map[string]int{
				"usage.input_tokens": i + r + w5 + w1, "usage.input_tokens_details.cached_tokens": r,
				"usage.output_tokens": o + th, "usage.output_tokens_details.reasoning_tokens": th,
				"usage.total_tokens": i + r + w5 + w1 + o + th,
			},
		},
		{
			name: "anthropic", path: "/v1/messages", body: messagesBody, headers: []string{"X-Api-Key", "k"},
			want: map[string]int{
				"usage.input_tokens": i, "usage.cache_read_input_tokens": r, "usage.cache_creation_input_tokens": w5 + w1,
				"usage.cache_creation.ephemeral_5m_input_tokens": w5, "usage.cache_creation.ephemeral_1h_input_tokens": w1,
				"usage.output_tokens": o + th, "usage.output_tokens_details.thinking_tokens": th,
			},
		},
		{
			name: "anthropic count", path: "/v1/messages/count_tokens", body: messagesBody, headers: []string{"X-Api-Key", "k"},
			want: map[string]int{"input_tokens": i + r + w5 + w1},
		},
		{
			name: "gemini", path: "/v1beta/models/m:generateContent", body: geminiBody, headers: []string{"X-Goog-Api-Key", "k"},
			want: map[string]int{
				"usageMetadata.promptTokenCount": i + r + w5 + w1, "usageMetadata.cachedContentTokenCount": r,
				"usageMetadata.candidatesTokenCount": o, "usageMetadata.thoughtsTokenCount": th,
				"usageMetadata.totalTokenCount": i + r + w5 + w1 + o + th,
			},
		},
		{
			name: "gemini count", path: "/v1beta/models/m:countTokens", body: geminiBody, headers: []string{"X-Goog-Api-Key", "k"},
			want: map[string]int{"totalTokens": i + r + w5 + w1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{Knobs: knobs})
			body := decodeJSON(t, readAll(t, do(t, http.MethodPost, srv.URL+tt.path, tt.body, tt.headers...)))
			for p, want := range tt.want {
				var keys []any
				for _, k := range strings.Split(p, ".") {
					keys = append(keys, k)
				}
				if got := num(path(body, keys...)); got != want {
					t.Errorf("%s = %d, want %d", p, got, want)
				}
			}
		})
	}
}

// TestGeminiOmitsZeroCounts mirrors the live API, which leaves out zero
// cachedContentTokenCount and thoughtsTokenCount.
func TestGeminiOmitsZeroCounts(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	body := decodeJSON(t, readAll(t, do(t, http.MethodPost, srv.URL+"/v1beta/models/m:generateContent", geminiBody, "X-Goog-Api-Key", "k",
		fakeupstream.HeaderCacheReadTokens, "0", fakeupstream.HeaderReasoningTokens, "0")))
	u, _ := body["usageMetadata"].(map[string]any)
	if _, ok := u["cachedContentTokenCount"]; ok {
		t.Error("cachedContentTokenCount present")
	}
	if _, ok := u["thoughtsTokenCount"]; ok {
		t.Error("thoughtsTokenCount present")
	}
	if num(u["promptTokenCount"]) != 13+3+2 {
		t.Errorf("usageMetadata = %v", u)
	}
}

// TestByKeyFailover shows the failover setup: one server, a failing key and
// a healthy one.
func TestByKeyFailover(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{
		"k-bad": {Status: http.StatusServiceUnavailable, RetryAfter: 1},
	}})
	for _, key := range []string{"k-bad", "k-good", "k-bad"} {
		resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messagesBody, "X-Api-Key", key)
		readAll(t, resp)
		want := http.StatusOK
		if key == "k-bad" {
			want = http.StatusServiceUnavailable
			if resp.Header.Get("Retry-After") != "1" {
				t.Errorf("retry-after = %q, want 1 (rounded up)", resp.Header.Get("Retry-After"))
			}
		}
		if resp.StatusCode != want {
			t.Errorf("%s: status = %d, want %d", key, resp.StatusCode, want)
		}
	}
	if fake.CountKey("k-bad") != 2 || fake.CountKey("k-good") != 1 || fake.Count() != 3 {
		t.Errorf("counts = %v (total %d)", fake.CountByKey(), fake.Count())
	}
}

func TestRecording(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{RecordLimit: 2, RecordBodyLimit: 10})
	for i := range 3 {
		resp := do(t, http.MethodPost, srv.URL+"/v1/messages?beta=true", messageStream,
			"Authorization", "Bearer k-"+strconv.Itoa(i), "Anthropic-Beta", "b1,b2")
		readAll(t, resp)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want the last 2", len(reqs))
	}
	for n, r := range reqs {
		wantKey := "k-" + strconv.Itoa(n+1)
		if r.Key != wantKey || r.Method != http.MethodPost || r.Path != "/v1/messages" || r.RawQuery != "beta=true" ||
			r.Header.Get("Anthropic-Beta") != "b1,b2" || r.Model != "claude-sonnet-4-5" || !r.Stream || r.Received.IsZero() {
			t.Errorf("request %d = %+v", n, r)
		}
		if string(r.Body) != messageStream[:10] || !r.BodyTruncated {
			t.Errorf("request %d body = %q (truncated %v)", n, r.Body, r.BodyTruncated)
		}
	}
	// Requests returns a copy.
	reqs[0].Key = "changed"
	if fake.Requests()[0].Key == "changed" {
		t.Error("Requests shares its slice")
	}
	if fake.Count() != 3 || len(fake.CountByKey()) != 3 {
		t.Errorf("count = %d, by key %v", fake.Count(), fake.CountByKey())
	}
	fake.Reset()
	if fake.Count() != 0 || len(fake.Requests()) != 0 || fake.CountKey("k-1") != 0 {
		t.Error("Reset left state behind")
	}
}

func TestRecordingDisabled(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{RecordLimit: -1})
	readAll(t, do(t, http.MethodPost, srv.URL+"/v1/chat/completions", chatBody, "Authorization", "Bearer k"))
	if len(fake.Requests()) != 0 || fake.Count() != 1 || fake.CountKey("k") != 1 {
		t.Errorf("requests %d, count %d", len(fake.Requests()), fake.Count())
	}
}

func TestExpectedText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chunks int
		want   string
	}{
		{name: "none", chunks: 0, want: ""},
		{name: "default", chunks: fakeupstream.DefaultChunks, want: `Hello "fake" wörld.`},
		{name: "wraps around", chunks: 9, want: "Hello \"fake\" wörld.\nLine two ✓ more text.Hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fakeupstream.ExpectedText(tt.chunks); got != tt.want {
				t.Errorf("ExpectedText(%d) = %q, want %q", tt.chunks, got, tt.want)
			}
		})
	}
}
