package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"aether/internal/canon"
	"aether/internal/llm"
)

// streamDecoder turns streamGenerateContent chunks into canonical events.
// Gemini has no block boundaries: text and thought parts are deltas, so a
// block opens when the kind of content changes; a functionCall arrives
// whole in one part and becomes a block with one arguments delta. The
// chunk with finishReason ends the message; its usageMetadata may come on
// that chunk or a later one, so the message delta waits for usage or the
// end of the stream.
type streamDecoder struct {
	started, finished, ended bool
	open                     int // index of the open block, -1 for none
	openType                 canon.BlockType
	next                     int
	ids                      *callIDs
	calls                    bool
	stop                     canon.StopReason
	usage                    *llm.Usage
}

// NewStreamDecoder implements the translate codec.
func (Codec) NewStreamDecoder() canon.StreamDecoder {
	return &streamDecoder{open: -1, ids: newCallIDs()}
}

var errMalformed = errors.New("gemini: malformed stream chunk")

func (d *streamDecoder) Decode(_ string, data []byte) ([]canon.Event, error) {
	data = bytes.TrimSpace(data)
	if d.ended || len(data) == 0 {
		return nil, nil
	}
	if llm.HasErrorObject(data) {
		d.ended = true
		return []canon.Event{{Type: canon.EventError, Error: Codec{}.DecodeError(0, data)}}, nil
	}
	var c responseJSON
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, errMalformed
	}
	var out []canon.Event
	if !d.started {
		d.started = true
		d.ids.base = c.ResponseID
		start := canon.Event{Type: canon.EventStart, ID: c.ResponseID, Model: c.ModelVersion}
		if c.UsageMetadata != nil {
			u := c.UsageMetadata.normalise()
			start.Usage = &llm.Usage{InputTokens: u.InputTokens, CacheReadTokens: u.CacheReadTokens, Known: true}
		}
		out = append(out, start)
	}
	for _, cand := range c.Candidates {
		if cand.Index != 0 || d.finished {
			continue // only the first candidate is translated
		}
		if cand.Content != nil {
			for _, p := range cand.Content.Parts {
				out = d.part(out, p)
			}
		}
		if cand.FinishReason != "" {
			out = d.closeOpen(out)
			d.finished = true
			d.stop = stopReason(cand.FinishReason, d.calls)
		}
	}
	if len(c.Candidates) == 0 && c.PromptFeedback != nil && c.PromptFeedback.BlockReason != "" && !d.finished {
		d.finished = true
		d.stop = canon.StopContentFilter
	}
	if c.UsageMetadata != nil {
		u := c.UsageMetadata.normalise()
		d.usage = &u
		if d.finished {
			out = append(out, d.end()...)
		}
	}
	return out, nil
}

func (d *streamDecoder) part(out []canon.Event, p partJSON) []canon.Event {
	switch {
	case p.FunctionCall != nil:
		out = d.closeOpen(out)
		if p.ThoughtSignature != "" {
			b := signatureBlock(p.ThoughtSignature)
			out = append(out, canon.Event{Type: canon.EventBlockStart, Index: d.next, Block: &b}, canon.Event{Type: canon.EventBlockStop, Index: d.next})
			d.next++
		}
		fc := p.FunctionCall
		args := fc.Args
		if !isObject(args) {
			args = json.RawMessage("{}")
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, args)
		i := d.next
		d.next++
		d.calls = true
		out = append(out,
			canon.Event{Type: canon.EventBlockStart, Index: i, Block: &canon.Block{Type: canon.BlockToolCall, ID: d.ids.call(fc.ID, fc.Name), Name: fc.Name}},
			canon.Event{Type: canon.EventDelta, Index: i, Delta: canon.DeltaArguments, Text: compact.String()},
			canon.Event{Type: canon.EventBlockStop, Index: i})
	case p.Thought:
		if p.Text != nil && *p.Text != "" {
			out = d.text(out, canon.BlockThinking, canon.DeltaThinking, *p.Text)
		}
		if p.ThoughtSignature != "" {
			if d.open < 0 || d.openType != canon.BlockThinking {
				out = d.openBlock(out, canon.BlockThinking)
			}
			out = append(out, canon.Event{Type: canon.EventDelta, Index: d.open, Delta: canon.DeltaSignature, Text: geminiSignature + p.ThoughtSignature})
		}
	case p.Text != nil:
		// A signature on a text part is dropped (docs/translation.md).
		if *p.Text != "" {
			out = d.text(out, canon.BlockText, canon.DeltaText, *p.Text)
		}
	}
	return out
}

func (d *streamDecoder) openBlock(out []canon.Event, bt canon.BlockType) []canon.Event {
	out = d.closeOpen(out)
	d.open, d.openType = d.next, bt
	d.next++
	return append(out, canon.Event{Type: canon.EventBlockStart, Index: d.open, Block: &canon.Block{Type: bt}})
}

// text adds a text or thought delta, opening a block of that kind first
// when another kind is open.
func (d *streamDecoder) text(out []canon.Event, bt canon.BlockType, dt canon.DeltaType, t string) []canon.Event {
	if d.open < 0 || d.openType != bt {
		out = d.openBlock(out, bt)
	}
	return append(out, canon.Event{Type: canon.EventDelta, Index: d.open, Delta: dt, Text: t})
}

func (d *streamDecoder) closeOpen(out []canon.Event) []canon.Event {
	if d.open >= 0 {
		out = append(out, canon.Event{Type: canon.EventBlockStop, Index: d.open})
		d.open = -1
	}
	return out
}

// end finishes the message once: the message delta and the stop.
func (d *streamDecoder) end() []canon.Event {
	if d.ended {
		return nil
	}
	d.ended = true
	out := d.closeOpen(nil)
	return append(out, canon.Event{Type: canon.EventMessageDelta, StopReason: d.stop, Usage: d.usage}, canon.Event{Type: canon.EventStop})
}

// End implements canon.StreamDecoder: a Gemini stream is whole once a
// chunk carried finishReason (or a blocked prompt's blockReason),
// docs/wire-formats.md, "How a stream ends".
func (d *streamDecoder) End() []canon.Event {
	if !d.finished {
		return nil
	}
	return d.end()
}

// streamEncoder writes canonical events as streamGenerateContent chunks:
// one GenerateContentResponse per text or thought delta, one per function
// call once its arguments are whole, and a last one with finishReason and
// usageMetadata. Gemini has no start or stop event.
type streamEncoder struct {
	id, model      string
	finished, done bool
	tools          map[int]*toolCall
	thinking       map[int]*thought
	pending        string // a Gemini signature waiting for the next part
}

type toolCall struct {
	id, name string
	args     bytes.Buffer
}

type thought struct {
	text bool
	sig  string
}

// NewStreamEncoder implements the translate codec. Gemini always puts
// usage in its stream, so the request changes nothing.
func (Codec) NewStreamEncoder(*canon.Request) canon.StreamEncoder {
	return &streamEncoder{tools: map[int]*toolCall{}, thinking: map[int]*thought{}}
}

func (s *streamEncoder) chunk(parts []partJSON, finish string, usage *usageOut) canon.SSE {
	c := candidateJSON{FinishReason: finish}
	if len(parts) > 0 {
		c.Content = &contentJSON{Role: "model", Parts: parts}
	}
	b, _ := json.Marshal(responseOut{Candidates: []candidateJSON{c}, UsageMetadata: usage, ModelVersion: s.model, ResponseID: s.id})
	return canon.SSE{Data: b}
}

func (s *streamEncoder) emit(p partJSON) canon.SSE {
	if !p.Thought && p.ThoughtSignature == "" {
		p.ThoughtSignature, s.pending = s.pending, ""
	}
	return s.chunk([]partJSON{p}, "", nil)
}

func thoughtPart(text, sig string) partJSON {
	p := textPart(text)
	p.Thought, p.ThoughtSignature = true, sig
	return p
}

func (s *streamEncoder) Encode(ev canon.Event) []canon.SSE {
	if s.done {
		return nil
	}
	var out []canon.SSE
	switch ev.Type {
	case canon.EventStart:
		s.id, s.model = ev.ID, ev.Model
	case canon.EventBlockStart:
		if ev.Block == nil || s.finished {
			break
		}
		b := ev.Block
		switch b.Type {
		case canon.BlockToolCall:
			tc := &toolCall{id: b.ID, name: b.Name}
			tc.args.Write(b.Arguments)
			s.tools[ev.Index] = tc
		case canon.BlockThinking:
			t := &thought{sig: b.Signature, text: b.Text != ""}
			s.thinking[ev.Index] = t
			if b.Text != "" {
				out = append(out, s.emit(thoughtPart(b.Text, "")))
			}
		case canon.BlockRedactedThinking:
			out = append(out, s.emit(thoughtPart("", wrapForeign(foreignRedacted, b.Data))))
		case canon.BlockText:
			if b.Text != "" {
				out = append(out, s.emit(textPart(b.Text)))
			}
		}
	case canon.EventDelta:
		if s.finished {
			break
		}
		switch ev.Delta {
		case canon.DeltaText:
			if ev.Text != "" {
				out = append(out, s.emit(textPart(ev.Text)))
			}
		case canon.DeltaThinking:
			t := s.thought(ev.Index)
			if ev.Text != "" {
				t.text = true
				out = append(out, s.emit(thoughtPart(ev.Text, "")))
			}
		case canon.DeltaSignature:
			s.thought(ev.Index).sig += ev.Text
		case canon.DeltaArguments:
			if tc, ok := s.tools[ev.Index]; ok {
				tc.args.WriteString(ev.Text)
			}
		}
	case canon.EventBlockStop:
		out = append(out, s.stopBlock(ev.Index)...)
	case canon.EventMessageDelta:
		out = append(out, s.finish(ev)...)
	case canon.EventStop:
		out = append(out, s.finish(canon.Event{StopReason: canon.StopEndTurn})...)
		s.done = true
	case canon.EventError:
		s.done = true
		e := ev.Error
		if e == nil {
			e = &canon.Error{Type: canon.ErrAPI, Message: "upstream error"}
		}
		out = append(out, canon.SSE{Data: Codec{}.EncodeError(e)})
	}
	return out
}

func (s *streamEncoder) thought(i int) *thought {
	t, ok := s.thinking[i]
	if !ok {
		t = &thought{}
		s.thinking[i] = t
	}
	return t
}

// stopBlock writes a function call once whole, and a thinking block's
// signature: Gemini's own on the next part when the block had no text,
// any other in a thought part of its own.
func (s *streamEncoder) stopBlock(i int) []canon.SSE {
	if tc, ok := s.tools[i]; ok {
		delete(s.tools, i)
		args := json.RawMessage(tc.args.Bytes())
		if !isObject(args) {
			args = json.RawMessage("{}")
		}
		return []canon.SSE{s.emit(partJSON{FunctionCall: &functionCallJSON{ID: tc.id, Name: tc.name, Args: args}})}
	}
	t, ok := s.thinking[i]
	if !ok {
		return nil
	}
	delete(s.thinking, i)
	if t.sig == "" {
		return nil
	}
	if sig, ok := cutGemini(t.sig); ok && !t.text {
		s.pending = sig
		return nil
	}
	return []canon.SSE{s.emit(thoughtPart("", thoughtSignatureOut(t.sig)))}
}

func cutGemini(sig string) (string, bool) {
	if len(sig) > len(geminiSignature) && sig[:len(geminiSignature)] == geminiSignature {
		return sig[len(geminiSignature):], true
	}
	return "", false
}

// finish closes what is open and writes the last chunk once.
func (s *streamEncoder) finish(ev canon.Event) []canon.SSE {
	if s.finished {
		return nil
	}
	var out []canon.SSE
	for _, i := range slices.Sorted(maps.Keys(s.tools)) {
		out = append(out, s.stopBlock(i)...)
	}
	for _, i := range slices.Sorted(maps.Keys(s.thinking)) {
		out = append(out, s.stopBlock(i)...)
	}
	s.finished = true
	var parts []partJSON
	if s.pending != "" {
		parts = []partJSON{thoughtPart("", s.pending)}
		s.pending = ""
	}
	var usage *usageOut
	if ev.Usage != nil {
		usage = encodeUsage(*ev.Usage)
	}
	return append(out, s.chunk(parts, finishOut(ev.StopReason), usage))
}
