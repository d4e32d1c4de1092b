package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// largeChunks makes the simulated upstream's answer text about 12 MB, past
// the 8 MiB the gateway once kept of a body; every format puts its usage
// after the text.
const largeChunks = 2_000_000

// TestLargeBodyUsage: the usage of a non-stream answer of any size is
// recorded, in every format, and the client gets the whole answer.
func TestLargeBodyUsage(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: largeChunks}}})
	wantText := fakeupstream.ExpectedText(largeChunks)
	tests := []struct {
		name, path, body string
		header           map[string]string
		usage            llm.Usage
		text             func(m map[string]any) any
	}{
		{"openai chat", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`, gatewaytest.Bearer(), openAIUsage,
			func(m map[string]any) any { return dig(m, "choices", 0, "message", "content") }},
		{"openai responses", "/v1/responses", `{"model":"gpt-4o-mini","input":"x"}`, gatewaytest.Bearer(), openAIUsage,
			func(m map[string]any) any { return dig(m, "output", 0, "content", 0, "text") }},
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`,
			map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}, anthropicUsage,
			func(m map[string]any) any { return dig(m, "content", 0, "text") }},
		{"gemini", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"parts":[{"text":"x"}]}]}`,
			map[string]string{"x-goog-api-key": gatewaytest.Key}, geminiUsage,
			func(m map[string]any) any { return dig(m, "candidates", 0, "content", "parts", 0, "text") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.Post(t, tt.path, tt.body, tt.header)
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			if len(body) <= 8<<20 {
				t.Fatalf("answer is %d bytes, want more than 8 MiB", len(body))
			}
			var m map[string]any
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&m); err != nil {
				t.Fatal(err)
			}
			if tt.text(m) != wantText {
				t.Fatal("the client did not get the whole text")
			}
			out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
			if out.Status != llm.StatusCompleted || out.Usage != tt.usage {
				t.Fatalf("recorded %s with usage %+v, want completed with %+v", out.Status, out.Usage, tt.usage)
			}
		})
	}
}

// dig walks a decoded JSON value by object keys and array indexes.
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// bodyTransport answers every upstream call with the same prebuilt body, so
// a benchmark measures the gateway's allocations and not an upstream's.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header:        http.Header{"Content-Type": {"application/json"}},
		ContentLength: int64(len(b)), Body: io.NopCloser(bytes.NewReader(b)),
	}, nil
}

// BenchmarkLargeBody relays a non-stream chat answer of 1, 20 and 80 MiB,
// usage last, through the whole gateway; B/op is the gateway's (and the
// benchmark client's) allocation per request, which must not grow with the
// body.
func BenchmarkLargeBody(b *testing.B) {
	for _, mib := range []int{1, 20, 80} {
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			text := strings.Repeat("0123456789abcdef", mib<<20/16)
			body := []byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"` + text +
				`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":35,"completion_tokens":11,"total_tokens":46}}`)
			g := gatewaytest.New(b, gatewaytest.Options{Transport: bodyTransport(body)})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
				req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(len(body)) {
					b.Fatal(resp.StatusCode, n)
				}
				if u := g.Finished(b, resp.Header.Get("X-Request-ID")).Outcome.Usage; u.OutputTokens != 11 {
					b.Fatalf("usage %+v", u)
				}
			}
		})
	}
}
