package translate_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"aether/internal/anthropic"
	"aether/internal/canon"
	"aether/internal/llm"
	"aether/internal/openai"
	"aether/internal/translate"
)

func names(evs []canon.SSE) string {
	var out []string
	for _, e := range evs {
		if e.Name != "" {
			out = append(out, e.Name)
		} else {
			out = append(out, string(e.Data))
		}
	}
	return strings.Join(out, " ")
}

func TestChatStreamEnds(t *testing.T) {
	t.Parallel()
	first := `{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`
	finish := `{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`

	// A close after finish_reason without [DONE] is a whole stream.
	s := translate.NewStream(translate.AnthropicMessages, translate.OpenAIChat, nil)
	var all []canon.SSE
	for _, d := range []string{first, finish} {
		evs, err := s.Event("", []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	all = append(all, s.End()...)
	want := "message_start content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := names(all); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}

	// A close before finish_reason is truncated: no message_stop.
	s = translate.NewStream(translate.AnthropicMessages, translate.OpenAIChat, nil)
	evs, _ := s.Event("", []byte(first))
	evs = append(evs, s.End()...)
	if strings.Contains(names(evs), "message_stop") {
		t.Errorf("truncated stream ended: %s", names(evs))
	}
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	// Anthropic error event → Chat error chunk, and no [DONE] after it.
	s := translate.NewStream(translate.OpenAIChat, translate.AnthropicMessages, &canon.Request{StreamUsage: true})
	evs, err := s.Event("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := s.Event("message_stop", []byte(`{"type":"message_stop"}`))
	if len(evs) != 1 || !llm.HasErrorObject(evs[0].Data) || len(more) != 0 {
		t.Errorf("got %s then %s", names(evs), names(more))
	}
	// Chat error chunk → Anthropic error event.
	s = translate.NewStream(translate.AnthropicMessages, translate.OpenAIChat, nil)
	_, _ = s.Event("", []byte(`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}`))
	evs, _ = s.Event("", []byte(`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`))
	if len(evs) != 1 || evs[0].Name != "error" || !strings.Contains(string(evs[0].Data), `"api_error"`) {
		t.Errorf("got %s: %s", names(evs), evs)
	}
	// A keep-alive (an event without data) gives nothing and is no error.
	for _, api := range []translate.API{translate.OpenAIChat, translate.AnthropicMessages} {
		other := translate.AnthropicMessages
		if api == other {
			other = translate.OpenAIChat
		}
		if evs, err := translate.NewStream(other, api, nil).Event("", nil); err != nil || len(evs) != 0 {
			t.Errorf("%s keep-alive: %v, %v", api, evs, err)
		}
	}
	// A malformed event is an error for the caller.
	s = translate.NewStream(translate.AnthropicMessages, translate.OpenAIChat, nil)
	if _, err := s.Event("", []byte(`{`)); err == nil {
		t.Error("malformed chunk accepted")
	}
}

// TestStreamRoundTrip encodes canonical events in each format and decodes
// them back: the events, and so the answer, survive.
func TestStreamRoundTrip(t *testing.T) {
	t.Parallel()
	u := llm.Usage{InputTokens: 20, CacheReadTokens: 80, OutputTokens: 40, Known: true}
	events := []canon.Event{
		{Type: canon.EventStart, ID: "id1", Model: "m"},
		{Type: canon.EventBlockStart, Index: 0, Block: &canon.Block{Type: canon.BlockThinking}},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaThinking, Text: "hmm"},
		{Type: canon.EventBlockStop, Index: 0},
		{Type: canon.EventBlockStart, Index: 1, Block: &canon.Block{Type: canon.BlockText}},
		{Type: canon.EventDelta, Index: 1, Delta: canon.DeltaText, Text: "Hi"},
		{Type: canon.EventBlockStop, Index: 1},
		{Type: canon.EventBlockStart, Index: 2, Block: &canon.Block{Type: canon.BlockToolCall, ID: "t1", Name: "f"}},
		{Type: canon.EventDelta, Index: 2, Delta: canon.DeltaArguments, Text: `{"a":`},
		{Type: canon.EventDelta, Index: 2, Delta: canon.DeltaArguments, Text: `1}`},
		{Type: canon.EventBlockStop, Index: 2},
		{Type: canon.EventBlockStart, Index: 3, Block: &canon.Block{Type: canon.BlockToolCall, ID: "t2", Name: "g"}},
		{Type: canon.EventDelta, Index: 3, Delta: canon.DeltaArguments, Text: `{}`},
		{Type: canon.EventBlockStop, Index: 3},
		{Type: canon.EventMessageDelta, StopReason: canon.StopToolUse, Usage: &u},
		{Type: canon.EventStop},
	}
	codecs := map[string]translate.Codec{"anthropic": anthropic.Codec{}, "chat": openai.ChatCodec{}}
	for name, c := range codecs {
		enc := c.NewStreamEncoder(&canon.Request{StreamUsage: true})
		dec := c.NewStreamDecoder()
		var got []canon.Event
		for _, ev := range events {
			for _, out := range enc.Encode(ev) {
				evs, err := dec.Decode(out.Name, out.Data)
				if err != nil {
					t.Fatalf("%s: %v on %s", name, err, out.Data)
				}
				got = append(got, evs...)
			}
		}
		got = append(got, dec.End()...)
		// Anthropic's message_start reports zero usage before the answer.
		if name == "anthropic" {
			got[0].Usage = nil
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(events)
		if !reflect.DeepEqual(gb, wb) {
			t.Errorf("%s:\n got %s\nwant %s", name, gb, wb)
		}
	}
}

// TestStreamEncoderCompletes: whatever the upstream left out, the client
// gets its format's whole sequence.
func TestStreamEncoderCompletes(t *testing.T) {
	t.Parallel()
	enc := anthropic.Codec{}.NewStreamEncoder(nil)
	var out []canon.SSE
	for _, ev := range []canon.Event{
		{Type: canon.EventBlockStart, Index: 0, Block: &canon.Block{Type: canon.BlockText}},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaText, Text: "x"},
		{Type: canon.EventStop},
	} {
		out = append(out, enc.Encode(ev)...)
	}
	want := "message_start content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := names(out); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	cenc := openai.ChatCodec{}.NewStreamEncoder(nil)
	out = cenc.Encode(canon.Event{Type: canon.EventStop})
	if len(out) != 3 || string(out[2].Data) != "[DONE]" || !strings.Contains(string(out[1].Data), `"finish_reason":"stop"`) {
		t.Errorf("chat: %s", names(out))
	}
}
