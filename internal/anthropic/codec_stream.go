package anthropic

import (
	"encoding/json"
	"errors"

	"aether/internal/canon"
	"aether/internal/llm"
)

// streamDecoder turns Messages API stream events into canonical events.
// Block indexes are renumbered so blocks without a canonical equivalent
// (server tool blocks) leave no gap.
type streamDecoder struct {
	usage   llm.Usage
	index   map[int]int // upstream index → canonical index
	skipped map[int]bool
	next    int
	ended   bool
}

// NewStreamDecoder implements the translate codec.
func (Codec) NewStreamDecoder() canon.StreamDecoder {
	return &streamDecoder{index: map[int]int{}, skipped: map[int]bool{}}
}

type streamEventJSON struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string     `json:"id"`
		Model string     `json:"model"`
		Usage *usageJSON `json:"usage"`
	} `json:"message"`
	Index        int        `json:"index"`
	ContentBlock *blockJSON `json:"content_block"`
	Delta        *struct {
		Type         string  `json:"type"`
		Text         string  `json:"text"`
		PartialJSON  string  `json:"partial_json"`
		Thinking     string  `json:"thinking"`
		Signature    string  `json:"signature"`
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *usageJSON `json:"usage"`
}

var errMalformed = errors.New("anthropic: malformed stream event")

func (d *streamDecoder) Decode(name string, data []byte) ([]canon.Event, error) {
	if len(data) == 0 {
		return nil, nil // a comment or keep-alive
	}
	var ev streamEventJSON
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, errMalformed
	}
	if name == "" {
		name = ev.Type
	}
	switch name {
	case "message_start":
		if ev.Message == nil {
			return nil, errMalformed
		}
		out := canon.Event{Type: canon.EventStart, ID: ev.Message.ID, Model: ev.Message.Model}
		if ev.Message.Usage != nil {
			ev.Message.Usage.merge(&d.usage)
			u := d.usage
			out.Usage = &u
		}
		return []canon.Event{out}, nil
	case "content_block_start":
		if ev.ContentBlock == nil {
			return nil, errMalformed
		}
		b := *ev.ContentBlock
		if b.Type == "tool_use" {
			b.Input = nil // the arguments arrive as input_json_delta
		}
		block, ok, _ := decodeBlock(b)
		if !ok {
			d.skipped[ev.Index] = true
			return nil, nil
		}
		if block.Type == canon.BlockToolCall {
			block.Arguments = nil
		}
		i := d.next
		d.next++
		d.index[ev.Index] = i
		return []canon.Event{{Type: canon.EventBlockStart, Index: i, Block: &block}}, nil
	case "content_block_delta":
		i, ok := d.index[ev.Index]
		if !ok || ev.Delta == nil {
			return nil, nil
		}
		e := canon.Event{Type: canon.EventDelta, Index: i}
		switch ev.Delta.Type {
		case "text_delta":
			e.Delta, e.Text = canon.DeltaText, ev.Delta.Text
		case "input_json_delta":
			e.Delta, e.Text = canon.DeltaArguments, ev.Delta.PartialJSON
		case "thinking_delta":
			e.Delta, e.Text = canon.DeltaThinking, ev.Delta.Thinking
		case "signature_delta":
			e.Delta, e.Text = canon.DeltaSignature, ev.Delta.Signature
		default:
			return nil, nil // citations_delta and later types
		}
		return []canon.Event{e}, nil
	case "content_block_stop":
		i, ok := d.index[ev.Index]
		if !ok {
			return nil, nil
		}
		return []canon.Event{{Type: canon.EventBlockStop, Index: i}}, nil
	case "message_delta":
		e := canon.Event{Type: canon.EventMessageDelta}
		if ev.Delta != nil {
			if ev.Delta.StopReason != nil {
				e.StopReason = stopFromAnthropic[*ev.Delta.StopReason]
			}
			if ev.Delta.StopSequence != nil {
				e.StopSequence = *ev.Delta.StopSequence
			}
		}
		if ev.Usage != nil {
			ev.Usage.merge(&d.usage)
		}
		if d.usage.Known {
			u := d.usage
			e.Usage = &u
		}
		return []canon.Event{e}, nil
	case "message_stop":
		d.ended = true
		return []canon.Event{{Type: canon.EventStop}}, nil
	case "error":
		d.ended = true
		return []canon.Event{{Type: canon.EventError, Error: Codec{}.DecodeError(0, data)}}, nil
	}
	return nil, nil // ping and event types added later
}

// End implements canon.StreamDecoder: a Messages stream is whole only with
// message_stop, so a close without it finishes nothing.
func (d *streamDecoder) End() []canon.Event { return nil }

// streamEncoder writes canonical events as a Messages API stream. It
// completes the sequence Anthropic clients need (docs/wire-formats.md,
// "Stream event sequences clients depend on") whatever the upstream left
// out: a missing message_start, content_block_stop or message_delta.
type streamEncoder struct {
	started, delta, stopped bool
	open                    map[int]bool
	order                   []int
	usage                   llm.Usage
}

// NewStreamEncoder implements the translate codec. Anthropic always puts
// usage in its stream, so the request changes nothing.
func (Codec) NewStreamEncoder(*canon.Request) canon.StreamEncoder {
	return &streamEncoder{open: map[int]bool{}}
}

func event(name string, v any) canon.SSE {
	b, _ := json.Marshal(v)
	return canon.SSE{Name: name, Data: b}
}

type deltaOut struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
}

type blockDeltaOut struct {
	Type  string   `json:"type"`
	Index int      `json:"index"`
	Delta deltaOut `json:"delta"`
}

func (s *streamEncoder) Encode(ev canon.Event) []canon.SSE {
	if s.stopped {
		return nil
	}
	var out []canon.SSE
	if !s.started && ev.Type != canon.EventError {
		if ev.Type == canon.EventStart {
			return []canon.SSE{s.start(ev)}
		}
		out = append(out, s.start(canon.Event{}))
	}
	switch ev.Type {
	case canon.EventBlockStart:
		if ev.Block == nil || s.open[ev.Index] {
			break
		}
		s.open[ev.Index] = true
		s.order = append(s.order, ev.Index)
		var block any
		var first *blockDeltaOut
		b := ev.Block
		switch b.Type {
		case canon.BlockToolCall:
			block = toolUseOut{"tool_use", b.ID, b.Name, json.RawMessage("{}")}
			if len(b.Arguments) > 0 {
				a := string(b.Arguments)
				first = &blockDeltaOut{"content_block_delta", ev.Index, deltaOut{Type: "input_json_delta", PartialJSON: &a}}
			}
		case canon.BlockThinking:
			block = thinkingOut{"thinking", "", ""}
			if b.Text != "" {
				first = &blockDeltaOut{"content_block_delta", ev.Index, deltaOut{Type: "thinking_delta", Thinking: &b.Text}}
			}
		case canon.BlockRedactedThinking:
			block = redactedOut{"redacted_thinking", b.Data}
		default:
			block = textOut{"text", ""}
			if b.Text != "" {
				first = &blockDeltaOut{"content_block_delta", ev.Index, deltaOut{Type: "text_delta", Text: &b.Text}}
			}
		}
		out = append(out, event("content_block_start", struct {
			Type         string `json:"type"`
			Index        int    `json:"index"`
			ContentBlock any    `json:"content_block"`
		}{"content_block_start", ev.Index, block}))
		if first != nil {
			out = append(out, event("content_block_delta", first))
		}
		if b.Type == canon.BlockThinking && b.Signature != "" {
			out = append(out, event("content_block_delta", blockDeltaOut{"content_block_delta", ev.Index, deltaOut{Type: "signature_delta", Signature: &b.Signature}}))
		}
	case canon.EventDelta:
		if !s.open[ev.Index] {
			break
		}
		d := deltaOut{}
		text := ev.Text
		switch ev.Delta {
		case canon.DeltaText:
			d.Type, d.Text = "text_delta", &text
		case canon.DeltaArguments:
			d.Type, d.PartialJSON = "input_json_delta", &text
		case canon.DeltaThinking:
			d.Type, d.Thinking = "thinking_delta", &text
		case canon.DeltaSignature:
			d.Type, d.Signature = "signature_delta", &text
		default:
			return out
		}
		out = append(out, event("content_block_delta", blockDeltaOut{"content_block_delta", ev.Index, d}))
	case canon.EventBlockStop:
		out = append(out, s.stopBlock(ev.Index)...)
	case canon.EventMessageDelta:
		out = append(out, s.messageDelta(ev)...)
	case canon.EventStop:
		out = append(out, s.finish()...)
	case canon.EventError:
		s.stopped = true
		e := ev.Error
		if e == nil {
			e = &canon.Error{Type: canon.ErrAPI, Message: "upstream error"}
		}
		out = append(out, canon.SSE{Name: "error", Data: Codec{}.EncodeError(e)})
	}
	return out
}

func (s *streamEncoder) start(ev canon.Event) canon.SSE {
	s.started = true
	var u llm.Usage
	if ev.Usage != nil {
		u = *ev.Usage
		s.usage = u
	}
	return event("message_start", struct {
		Type    string     `json:"type"`
		Message messageOut `json:"message"`
	}{"message_start", messageOut{ID: messageID(ev.ID), Type: "message", Role: "assistant", Model: ev.Model, Content: []any{}, Usage: encodeUsage(u)}})
}

func (s *streamEncoder) stopBlock(i int) []canon.SSE {
	if !s.open[i] {
		return nil
	}
	delete(s.open, i)
	return []canon.SSE{event("content_block_stop", struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{"content_block_stop", i})}
}

func (s *streamEncoder) messageDelta(ev canon.Event) []canon.SSE {
	if s.delta {
		return nil
	}
	var out []canon.SSE
	for _, i := range s.order {
		out = append(out, s.stopBlock(i)...)
	}
	s.delta = true
	if ev.Usage != nil {
		s.usage = *ev.Usage
	}
	type delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	d := delta{StopReason: stopOut(ev.StopReason)}
	if ev.StopSequence != "" {
		d.StopSequence = &ev.StopSequence
	}
	return append(out, event("message_delta", struct {
		Type  string   `json:"type"`
		Delta delta    `json:"delta"`
		Usage usageOut `json:"usage"`
	}{"message_delta", d, encodeUsage(s.usage)}))
}

func (s *streamEncoder) finish() []canon.SSE {
	out := s.messageDelta(canon.Event{StopReason: canon.StopEndTurn})
	s.stopped = true
	return append(out, canon.SSE{Name: "message_stop", Data: []byte(`{"type":"message_stop"}`)})
}
