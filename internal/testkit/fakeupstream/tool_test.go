package fakeupstream_test

import (
	"strings"
	"testing"

	"aether/internal/canon"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/translate"
)

// TestToolCallKnob reads every format's tool call with that format's
// codec, non-stream and stream, and checks that a request whose last
// message is the tool's result gets the usual text.
func TestToolCallKnob(t *testing.T) {
	_, srv := newFake(t, fakeupstream.Config{})
	tests := []struct {
		name, path, call, result string
		api                      translate.API
		auth                     string
	}{
		{"chat", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}]}`,
			translate.OpenAIChat, "Authorization"},
		{"responses", "/v1/responses", `{"model":"m","input":"hi"}`,
			`{"model":"m","input":[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"sunny"}]}`,
			translate.OpenAIResponses, "Authorization"},
		{"anthropic", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"get_weather","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"sunny"}]}]}`,
			translate.AnthropicMessages, "X-Api-Key"},
		{"gemini", "/v1beta/models/m:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"r":"sunny"}}}]}]}`,
			translate.Gemini, "X-Goog-Api-Key"},
	}
	for _, tt := range tests {
		codec := translate.CodecFor(tt.api)
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				post := func(body string) (blocks []canon.Block) {
					path := tt.path
					if stream && tt.api == translate.Gemini {
						path = "/v1beta/models/m:streamGenerateContent?alt=sse"
					} else if stream {
						body = strings.Replace(body, `{"model":"m",`, `{"model":"m","stream":true,`, 1)
					}
					resp := do(t, "POST", srv.URL+path, body, tt.auth, "Bearer k", fakeupstream.HeaderToolCall, "get_weather")
					if !stream {
						r, err := codec.DecodeResponse(readAll(t, resp))
						if err != nil {
							t.Fatal(err)
						}
						return r.Content
					}
					events, err := readSSE(t, resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					dec := codec.NewStreamDecoder()
					var evs []canon.Event
					for _, e := range events {
						got, err := dec.Decode(e.Event, []byte(e.Data))
						if err != nil {
							t.Fatalf("%s: %v", e.Data, err)
						}
						evs = append(evs, got...)
					}
					evs = append(evs, dec.End()...)
					stopped := false
					for _, e := range evs {
						switch e.Type {
						case canon.EventBlockStart:
							blocks = append(blocks, *e.Block)
						case canon.EventDelta:
							b := &blocks[len(blocks)-1]
							if e.Delta == canon.DeltaArguments {
								b.Arguments = append(b.Arguments, e.Text...)
							} else {
								b.Text += e.Text
							}
						case canon.EventStop:
							stopped = true
						}
					}
					if !stopped {
						t.Fatalf("stream without its end: %+v", evs)
					}
					return blocks
				}
				blocks := post(tt.call)
				if len(blocks) != 1 || blocks[0].Type != canon.BlockToolCall || blocks[0].Name != "get_weather" || blocks[0].ID == "" ||
					string(blocks[0].Arguments) != fakeupstream.ToolArguments {
					t.Fatalf("tool call %+v, want get_weather(%s)", blocks, fakeupstream.ToolArguments)
				}
				blocks = post(tt.result)
				if len(blocks) != 1 || blocks[0].Text != fakeupstream.ExpectedText(fakeupstream.DefaultChunks) {
					t.Fatalf("after the result: %+v", blocks)
				}
			})
		}
	}
}
