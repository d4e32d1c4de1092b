package fakeupstream_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"aether/internal/testkit/fakeupstream"
)

// TestStreamErrorAfter: the event at that index is the format's in-stream
// error and the stream then ends cleanly, with nothing after it.
func TestStreamErrorAfter(t *testing.T) {
	t.Parallel()
	isError := []func(e sseEvent) bool{
		func(e sseEvent) bool { return path(decodeJSON(t, []byte(e.Data)), "error", "type") == "server_error" },
		func(e sseEvent) bool {
			m := decodeJSON(t, []byte(e.Data))
			return e.Event == "response.failed" && path(m, "response", "status") == "failed" && path(m, "response", "error", "code") == "server_error" &&
				num(path(m, "sequence_number")) == 2
		},
		func(e sseEvent) bool {
			return e.Event == "error" && path(decodeJSON(t, []byte(e.Data)), "error", "type") == "overloaded_error"
		},
		func(e sseEvent) bool { return path(decodeJSON(t, []byte(e.Data)), "error", "status") == "INTERNAL" },
	}
	for i, ep := range streamEndpoints {
		t.Run(ep.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, http.MethodPost, srv.URL+ep.path, ep.body, slices.Concat(ep.headers, []string{fakeupstream.HeaderStreamErrorAfter, "2"})...)
			events, err := readSSE(t, resp.Body)
			if err != nil {
				t.Fatalf("stream ended with %v, want a clean end", err)
			}
			if len(events) != 3 || !isError[i](events[2]) {
				t.Fatalf("events %+v, want 2 and the error", events)
			}
		})
	}
}

// TestEndAfter: the stream ends cleanly after that many events, without
// its terminal event.
func TestEndAfter(t *testing.T) {
	t.Parallel()
	for _, ep := range streamEndpoints {
		for _, n := range []int{0, 2} {
			t.Run(ep.name+"/"+strconv.Itoa(n), func(t *testing.T) {
				t.Parallel()
				_, srv := newFake(t, fakeupstream.Config{})
				resp := do(t, http.MethodPost, srv.URL+ep.path, ep.body, slices.Concat(ep.headers, []string{fakeupstream.HeaderEndAfter, strconv.Itoa(n)})...)
				events, err := readSSE(t, resp.Body)
				if err != nil {
					t.Fatalf("stream ended with %v, want a clean end", err)
				}
				if len(events) != n {
					t.Fatalf("got %d events, want %d", len(events), n)
				}
				for _, e := range events {
					if e.Data == "[DONE]" || strings.Contains(e.Data, `"finish_reason":"`) || strings.Contains(e.Data, "finishReason") || e.Event == "message_stop" {
						t.Fatalf("terminal event sent: %+v", e)
					}
				}
			})
		}
	}
	// A JSON-array stream still closes its array.
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{EndAfter: 1}})
	resp := do(t, http.MethodPost, srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent", geminiBody, "X-Goog-Api-Key", "k")
	body := readAll(t, resp)
	var chunks []map[string]any
	if err := json.Unmarshal(body, &chunks); err != nil || len(chunks) != 1 || strings.Contains(string(body), "finishReason") {
		t.Fatalf("array stream %s (%v)", body, err)
	}
}
