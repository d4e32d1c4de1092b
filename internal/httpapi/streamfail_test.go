package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// TestStreamFailsPartWay: a stream that fails after its first event (an
// error the upstream reports in-stream, or a clean close without the
// terminal event) reaches the client exactly as the upstream sent it, and
// is recorded failed with its own class, counted against the key.
func TestStreamFailsPartWay(t *testing.T) {
	t.Parallel()
	anthropicHeaders := map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}
	geminiHeaders := map[string]string{"x-goog-api-key": gatewaytest.Key}
	const (
		chat      = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}`
		responses = `{"model":"gpt-4o-mini","stream":true,"input":"x"}`
		messages  = `{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}`
		gemini    = `{"contents":[{"parts":[{"text":"x"}]}]}`
	)
	tests := []struct {
		name      string
		path      string
		body      string
		header    map[string]string
		knobs     fakeupstream.Knobs
		class     llm.ErrorClass
		lastEvent string // in what the client received
	}{
		{"anthropic error event", "/v1/messages", messages, anthropicHeaders,
			fakeupstream.Knobs{StreamErrorAfter: 3, ErrorMessage: "Overloaded"}, llm.ErrUpstreamStreamError,
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"},
		{"anthropic without message_stop", "/v1/messages", messages, anthropicHeaders,
			fakeupstream.Knobs{EndAfter: 8}, llm.ErrStreamTruncated, "event: message_delta"},
		{"responses ending in response.failed", "/v1/responses", responses, gatewaytest.Bearer(),
			fakeupstream.Knobs{StreamErrorAfter: 4}, llm.ErrUpstreamStreamError, "event: response.failed"},
		{"responses without response.completed", "/v1/responses", responses, gatewaytest.Bearer(),
			fakeupstream.Knobs{EndAfter: 5}, llm.ErrStreamTruncated, "event: response.output_text.delta"},
		{"chat error object", "/v1/chat/completions", chat, gatewaytest.Bearer(),
			fakeupstream.Knobs{StreamErrorAfter: 2}, llm.ErrUpstreamStreamError, `data: {"error":{`},
		{"chat without finish_reason", "/v1/chat/completions", chat, gatewaytest.Bearer(),
			fakeupstream.Knobs{EndAfter: 3}, llm.ErrStreamTruncated, `"delta":{"content":" \"fake\""}`},
		{"gemini error chunk", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", gemini, geminiHeaders,
			fakeupstream.Knobs{StreamErrorAfter: 1}, llm.ErrUpstreamStreamError, `"status":"INTERNAL"`},
		{"gemini without finishReason", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", gemini, geminiHeaders,
			fakeupstream.Knobs{EndAfter: 2}, llm.ErrStreamTruncated, `{"text":" \"fake\""}`},
		{"gemini array without finishReason", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", gemini, geminiHeaders,
			fakeupstream.Knobs{EndAfter: 2}, llm.ErrStreamTruncated, "]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.New(t, gatewaytest.Options{
				Fake: fakeupstream.Config{Knobs: tt.knobs},
				// One failure is enough to open a breaker, so the test
				// sees whether the failure was counted.
				Config: func(c *config.Config) { c.BreakerMinReqs, c.BreakerRatio, c.BreakerOpenFor = 1, 0.5, time.Minute },
			})
			resp := g.Post(t, tt.path, tt.body, tt.header)
			got, readErr := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}

			// The client got the upstream's bytes, nothing invented: the
			// same request straight to the upstream gives the same stream.
			direct := directStream(t, g, tt.path, tt.body, tt.header)
			if normalise(got) != normalise(direct) {
				t.Fatalf("client received\n%s\nthe upstream sends\n%s", got, direct)
			}
			if last := lastEvent(got); !strings.Contains(last, tt.lastEvent) {
				t.Fatalf("the stream ends with %q, want %q", last, tt.lastEvent)
			}
			// An in-stream error is the upstream's own signal and the stream
			// closes normally; a stream missing its end is aborted, so the
			// client cannot take the truncated answer for a whole one.
			if aborted := readErr != nil; aborted != (tt.class == llm.ErrStreamTruncated) {
				t.Fatalf("client read error %v for a %s stream", readErr, tt.class)
			}

			rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
			out := rec.Outcome
			if out.Status != llm.StatusFailed || out.StatusCode != http.StatusBadGateway || out.ErrorClass != tt.class {
				t.Fatalf("recorded %s %d %s, want failed 502 %s", out.Status, out.StatusCode, out.ErrorClass, tt.class)
			}
			if len(out.Attempts) != 1 || out.Attempts[0].Outcome != llm.OutcomeFailed || out.Attempts[0].ErrorClass != tt.class {
				t.Fatalf("attempts %+v", out.Attempts)
			}
			key := out.Attempts[0].KeyID
			if g.Server.Breakers.State(key) != "open" || len(out.BreakerChanges) != 1 || out.BreakerChanges[0].State != "open" {
				t.Fatalf("the failure was not counted against the key: breaker %s, changes %+v", g.Server.Breakers.State(key), out.BreakerChanges)
			}
			if rec.FirstByte.IsZero() {
				t.Fatal("no first-byte event")
			}
			// The attempt is counted with its class, and not as a failover:
			// nothing was tried after it.
			metrics := getMetrics(t, g)
			if want := `result="` + string(tt.class) + `"} 1`; !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks the attempt %s", want)
			}
			if strings.Contains(metrics, `aether_failovers_total{`) {
				t.Errorf("counted as a failover:\n%s", metrics)
			}
		})
	}
}

func getMetrics(t *testing.T, g *gatewaytest.Gateway) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// directStream sends the request to the simulated upstream itself, with
// the same knobs, and returns the bytes it sent up to its close.
func directStream(t *testing.T, g *gatewaytest.Gateway, path, body string, header map[string]string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, g.FakeURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("direct stream: %v", err)
	}
	return b
}

// lastEvent returns the last event of a stream (the closing bracket of a
// JSON-array stream).
func lastEvent(b []byte) string {
	s := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if i := strings.LastIndex(s, "\n\n"); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// volatile matches what differs between two answers of the simulated
// upstream: response IDs, timestamps, the model name the gateway maps and
// the null usage of chat chunks when the gateway asked for usage.
var volatile = regexp.MustCompile(`fake[0-9]+|"created(_at)?":[0-9]+|"model(Version)?":"[^"]*"|,"usage":null`)

func normalise(b []byte) string { return volatile.ReplaceAllString(string(b), "") }
