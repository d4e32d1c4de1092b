package fakeupstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"aether/internal/testkit/fakeupstream"
)

// Expected usage for the default knobs, per the package documentation.
const (
	wantPrompt     = fakeupstream.DefaultInputTokens + fakeupstream.DefaultCacheReadTokens + fakeupstream.DefaultCacheWrite5mTokens + fakeupstream.DefaultCacheWrite1hTokens // 35
	wantCompletion = fakeupstream.DefaultOutputTokens + fakeupstream.DefaultReasoningTokens                                                                                  // 11
	wantTotal      = wantPrompt + wantCompletion                                                                                                                             // 46
)

// testTimeout bounds every request so a broken stream fails the test
// instead of hanging it; it is far above any real duration.
const testTimeout = 30 * time.Second

// newFake starts a fake upstream for the test and closes it afterwards.
func newFake(t *testing.T, cfg fakeupstream.Config) (*fakeupstream.Server, *httptest.Server) {
	t.Helper()
	fake := fakeupstream.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close) // runs first: releases hanging handlers
	return fake, srv
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// do sends a raw request; headers alternate name, value.
func do(t *testing.T, method, url, body string, headers ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testContext(t), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readAll reads the whole body, failing the test on a transport error.
func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// decodeJSON decodes body into a generic map.
func decodeJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	Event string
	Data  string
}

// readSSE parses an event stream, returning the events read and the error
// that ended it (nil on a clean EOF). Every data payload except [DONE] must
// be valid JSON.
func readSSE(t *testing.T, r io.Reader) ([]sseEvent, error) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	var events []sseEvent
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Data != "" {
				if cur.Data != "[DONE]" && !json.Valid([]byte(cur.Data)) {
					t.Errorf("event %q has invalid JSON data: %s", cur.Event, cur.Data)
				}
				events = append(events, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		default:
			t.Errorf("unexpected SSE line %q", line)
		}
	}
	return events, sc.Err()
}

// path walks a decoded JSON value by object keys and array indexes.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// num returns a decoded JSON number as an int (-1 when absent).
func num(v any) int {
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return int(f)
}

// Request bodies for raw requests, one per API.
const (
	chatBody      = `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`
	chatStream    = `{"model":"gpt-4.1-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	respStream    = `{"model":"gpt-4.1-mini","stream":true,"input":"hi"}`
	messagesBody  = `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	messageStream = `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	geminiBody    = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
)
