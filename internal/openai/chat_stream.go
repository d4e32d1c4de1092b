package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"aether/internal/canon"
	"aether/internal/llm"
)

// chatStreamDecoder turns chat.completion.chunk events into canonical
// events. Chat has no block boundaries, so it opens a block when the kind
// of content changes (reasoning, text, a new tool call) and closes the
// previous one. The stop reason comes with finish_reason and the usage in
// a later chunk (stream_options.include_usage), so the message delta waits
// for the usage chunk, [DONE] or the end of the stream.
type chatStreamDecoder struct {
	started, finished, ended bool
	open                     int // index of the open block, -1 for none
	openType                 canon.BlockType
	tools                    map[int]int // Chat tool_calls index → canonical index
	next                     int
	stop                     canon.StopReason
	usage                    *llm.Usage
}

// NewStreamDecoder implements the translate codec.
func (ChatCodec) NewStreamDecoder() canon.StreamDecoder {
	return &chatStreamDecoder{open: -1, tools: map[int]int{}}
}

type chatChunkJSON struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content          *string            `json:"content"`
			ReasoningContent *string            `json:"reasoning_content"`
			Reasoning        *string            `json:"reasoning"`
			Refusal          *string            `json:"refusal"`
			ToolCalls        []chatToolCallJSON `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usageJSON      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

var errMalformedChunk = errors.New("openai: malformed chat stream chunk")

func (d *chatStreamDecoder) Decode(name string, data []byte) ([]canon.Event, error) {
	if d.ended || len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if bytes.Equal(bytes.TrimSpace(data), done) {
		return d.end(true), nil
	}
	var c chatChunkJSON
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, errMalformedChunk
	}
	if len(c.Error) > 0 && !bytes.Equal(c.Error, []byte("null")) {
		d.ended = true
		return []canon.Event{{Type: canon.EventError, Error: ChatCodec{}.DecodeError(0, data)}}, nil
	}
	var out []canon.Event
	if !d.started {
		d.started = true
		out = append(out, canon.Event{Type: canon.EventStart, ID: c.ID, Model: c.Model})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // only the first choice is translated
		}
		if t := ch.Delta.ReasoningContent; t != nil && *t != "" {
			out = d.text(out, canon.BlockThinking, canon.DeltaThinking, *t)
		} else if t := ch.Delta.Reasoning; t != nil && *t != "" {
			out = d.text(out, canon.BlockThinking, canon.DeltaThinking, *t)
		}
		if t := ch.Delta.Content; t != nil && *t != "" {
			out = d.text(out, canon.BlockText, canon.DeltaText, *t)
		}
		if t := ch.Delta.Refusal; t != nil && *t != "" {
			out = d.text(out, canon.BlockText, canon.DeltaText, *t)
		}
		for _, tc := range ch.Delta.ToolCalls {
			at := len(d.tools)
			if tc.Index != nil {
				at = *tc.Index
			}
			i, ok := d.tools[at]
			if !ok {
				out = d.closeOpen(out)
				i = d.next
				d.next++
				d.tools[at] = i
				d.open, d.openType = i, canon.BlockToolCall
				out = append(out, canon.Event{Type: canon.EventBlockStart, Index: i, Block: &canon.Block{Type: canon.BlockToolCall, ID: tc.ID, Name: tc.Function.Name}})
			}
			if tc.Function.Arguments != "" {
				out = append(out, canon.Event{Type: canon.EventDelta, Index: i, Delta: canon.DeltaArguments, Text: tc.Function.Arguments})
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			out = d.closeOpen(out)
			d.finished = true
			d.stop = stopFromChat[*ch.FinishReason]
		}
	}
	if c.Usage != nil {
		u := c.Usage.normalise()
		d.usage = &u
		if d.finished {
			out = append(out, d.end(false)...)
		}
	}
	return out, nil
}

// text adds a text or reasoning delta, opening a block of that kind first
// when another kind is open.
func (d *chatStreamDecoder) text(out []canon.Event, bt canon.BlockType, dt canon.DeltaType, t string) []canon.Event {
	if d.open < 0 || d.openType != bt {
		out = d.closeOpen(out)
		d.open, d.openType = d.next, bt
		d.next++
		out = append(out, canon.Event{Type: canon.EventBlockStart, Index: d.open, Block: &canon.Block{Type: bt}})
	}
	return append(out, canon.Event{Type: canon.EventDelta, Index: d.open, Delta: dt, Text: t})
}

func (d *chatStreamDecoder) closeOpen(out []canon.Event) []canon.Event {
	if d.open >= 0 {
		out = append(out, canon.Event{Type: canon.EventBlockStop, Index: d.open})
		d.open = -1
	}
	return out
}

// end finishes the message once: the message delta and the stop.
func (d *chatStreamDecoder) end(doneSeen bool) []canon.Event {
	if d.ended || !d.started && !doneSeen {
		return nil
	}
	d.ended = true
	var out []canon.Event
	if !d.started {
		out = append(out, canon.Event{Type: canon.EventStart})
	}
	out = d.closeOpen(out)
	stop := d.stop
	if stop == "" {
		stop = canon.StopEndTurn
	}
	return append(out, canon.Event{Type: canon.EventMessageDelta, StopReason: stop, Usage: d.usage}, canon.Event{Type: canon.EventStop})
}

// End implements canon.StreamDecoder: a stream that closes after its
// finish_reason without [DONE] is whole (docs/wire-formats.md, "How a
// stream ends").
func (d *chatStreamDecoder) End() []canon.Event {
	if !d.finished {
		return nil
	}
	return d.end(false)
}

// chatStreamEncoder writes canonical events as chat.completion.chunk
// events: a first chunk with the role, content, reasoning_content and
// tool_calls deltas, a chunk with finish_reason, the usage chunk when the
// client asked for it (stream_options.include_usage), then [DONE].
type chatStreamEncoder struct {
	id, model               string
	created                 int64
	usage                   bool // the client asked for usage
	started, finished, done bool
	tools                   map[int]int // canonical index → Chat tool_calls index
}

// NewStreamEncoder implements the translate codec; req is the client's
// decoded request.
func (ChatCodec) NewStreamEncoder(req *canon.Request) canon.StreamEncoder {
	return &chatStreamEncoder{usage: req != nil && req.StreamUsage, tools: map[int]int{}, created: time.Now().Unix()}
}

type chatDeltaOut struct {
	Role             string            `json:"role,omitempty"`
	Content          *string           `json:"content,omitempty"`
	ReasoningContent *string           `json:"reasoning_content,omitempty"`
	ToolCalls        []chatToolCallOut `json:"tool_calls,omitempty"`
}

type chatChoiceOut struct {
	Index        int          `json:"index"`
	Delta        chatDeltaOut `json:"delta"`
	Logprobs     *struct{}    `json:"logprobs"`
	FinishReason *string      `json:"finish_reason"`
}

type chatChunkOut struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []chatChoiceOut `json:"choices"`
	Usage   *chatUsageOut   `json:"usage,omitempty"`
}

func (s *chatStreamEncoder) chunk(d chatDeltaOut, finish *string) canon.SSE {
	b, _ := json.Marshal(chatChunkOut{ID: chatID(s.id), Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []chatChoiceOut{{Delta: d, FinishReason: finish}}})
	return canon.SSE{Data: b}
}

func (s *chatStreamEncoder) Encode(ev canon.Event) []canon.SSE {
	if s.done {
		return nil
	}
	var out []canon.SSE
	if !s.started && ev.Type != canon.EventError {
		s.started = true
		if ev.Type == canon.EventStart {
			s.id, s.model = ev.ID, ev.Model
		}
		empty := ""
		out = append(out, s.chunk(chatDeltaOut{Role: "assistant", Content: &empty}, nil))
	}
	switch ev.Type {
	case canon.EventBlockStart:
		if ev.Block == nil || s.finished {
			break
		}
		b := ev.Block
		switch b.Type {
		case canon.BlockToolCall:
			if _, ok := s.tools[ev.Index]; ok {
				break
			}
			n := len(s.tools)
			s.tools[ev.Index] = n
			out = append(out, s.chunk(chatDeltaOut{ToolCalls: []chatToolCallOut{{Index: &n, ID: b.ID, Type: "function",
				Function: chatFunctionCall{Name: b.Name, Arguments: string(b.Arguments)}}}}, nil))
		case canon.BlockText:
			if b.Text != "" {
				out = append(out, s.chunk(chatDeltaOut{Content: &b.Text}, nil))
			}
		case canon.BlockThinking:
			if b.Text != "" {
				out = append(out, s.chunk(chatDeltaOut{ReasoningContent: &b.Text}, nil))
			}
		}
	case canon.EventDelta:
		if s.finished || ev.Text == "" {
			break
		}
		text := ev.Text
		switch ev.Delta {
		case canon.DeltaText:
			out = append(out, s.chunk(chatDeltaOut{Content: &text}, nil))
		case canon.DeltaThinking:
			out = append(out, s.chunk(chatDeltaOut{ReasoningContent: &text}, nil))
		case canon.DeltaArguments:
			if n, ok := s.tools[ev.Index]; ok {
				out = append(out, s.chunk(chatDeltaOut{ToolCalls: []chatToolCallOut{{Index: &n, Function: chatFunctionCall{Arguments: text}}}}, nil))
			}
		}
	case canon.EventMessageDelta:
		out = append(out, s.finish(ev)...)
	case canon.EventStop:
		out = append(out, s.finish(canon.Event{StopReason: canon.StopEndTurn})...)
		s.done = true
		out = append(out, canon.SSE{Data: []byte("[DONE]")})
	case canon.EventError:
		// Chat reports a failure inside a stream as a chunk holding an
		// error object, after which the stream closes.
		s.done = true
		e := ev.Error
		if e == nil {
			e = &canon.Error{Type: canon.ErrAPI, Message: "upstream error"}
		}
		out = append(out, canon.SSE{Data: ChatCodec{}.EncodeError(e)})
	}
	return out
}

func (s *chatStreamEncoder) finish(ev canon.Event) []canon.SSE {
	if s.finished {
		return nil
	}
	s.finished = true
	reason := chatFinish(ev.StopReason)
	out := []canon.SSE{s.chunk(chatDeltaOut{}, &reason)}
	if s.usage {
		u := llm.Usage{}
		if ev.Usage != nil {
			u = *ev.Usage
		}
		b, _ := json.Marshal(chatChunkOut{ID: chatID(s.id), Object: "chat.completion.chunk", Created: s.created, Model: s.model,
			Choices: []chatChoiceOut{}, Usage: encodeChatUsage(u)})
		out = append(out, canon.SSE{Data: b})
	}
	return out
}
