package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"aether/internal/canon"
	"aether/internal/llm"
)

// responsesStreamDecoder turns Responses stream events into canonical
// events. Each message content part, function_call item and reasoning item
// is one canonical block; a reasoning item's summary parts join into one
// thinking text. The stream is whole only with response.completed or
// response.incomplete (docs/wire-formats.md, "How a stream ends").
type responsesStreamDecoder struct {
	started, ended bool
	blocks         map[partKey]*decodedBlock
	next           int
	calls          bool
}

// partKey addresses a block: an item's output_index, and the content_index
// of a message's part (-1 for other items).
type partKey struct{ item, part int }

type decodedBlock struct {
	index       int
	typ         canon.BlockType
	args        bool // argument deltas were seen
	text, delta bool // text was seen (thinking: to separate summary parts)
	open        bool
}

// NewStreamDecoder implements the translate codec.
func (ResponsesCodec) NewStreamDecoder() canon.StreamDecoder {
	return &responsesStreamDecoder{blocks: map[partKey]*decodedBlock{}}
}

type responsesEventJSON struct {
	Type         string `json:"type"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	SummaryIndex int    `json:"summary_index"`
	Delta        string `json:"delta"`
	Arguments    string `json:"arguments"`
	Item         *responsesItemJSON
	Part         *responsesPartJSON
	Response     *struct {
		ID                string `json:"id"`
		Model             string `json:"model"`
		Status            string `json:"status"`
		IncompleteDetails *struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Usage *usageJSON `json:"usage"`
	} `json:"response"`
}

var errMalformedEvent = errors.New("openai: malformed responses stream event")

func (d *responsesStreamDecoder) Decode(name string, data []byte) ([]canon.Event, error) {
	if d.ended || len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var ev responsesEventJSON
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, errMalformedEvent
	}
	if name == "" {
		name = ev.Type
	}
	var out []canon.Event
	if !d.started && name != "error" {
		d.started = true
		start := canon.Event{Type: canon.EventStart}
		if ev.Response != nil {
			start.ID, start.Model = ev.Response.ID, ev.Response.Model
		}
		out = append(out, start)
	}
	switch name {
	case "response.output_item.added":
		if ev.Item == nil {
			return nil, errMalformedEvent
		}
		switch ev.Item.Type {
		case "function_call":
			d.calls = true
			b := d.open(partKey{ev.OutputIndex, -1}, canon.BlockToolCall)
			out = append(out, canon.Event{Type: canon.EventBlockStart, Index: b.index, Block: &canon.Block{Type: canon.BlockToolCall, ID: ev.Item.CallID, Name: ev.Item.Name}})
		case "reasoning":
			b := d.open(partKey{ev.OutputIndex, -1}, canon.BlockThinking)
			out = append(out, canon.Event{Type: canon.EventBlockStart, Index: b.index, Block: &canon.Block{Type: canon.BlockThinking}})
		}
	case "response.content_part.added":
		if ev.Part == nil || ev.Part.Type != "output_text" && ev.Part.Type != "refusal" {
			break
		}
		b := d.open(partKey{ev.OutputIndex, ev.ContentIndex}, canon.BlockText)
		out = append(out, canon.Event{Type: canon.EventBlockStart, Index: b.index, Block: &canon.Block{Type: canon.BlockText}})
		if t := ev.Part.Text + ev.Part.Refusal; t != "" {
			out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaText, Text: t})
		}
	case "response.output_text.delta", "response.refusal.delta":
		k := partKey{ev.OutputIndex, ev.ContentIndex}
		b := d.blocks[k]
		if b == nil && ev.Delta != "" { // a server that sent no content_part.added
			b = d.open(k, canon.BlockText)
			out = append(out, canon.Event{Type: canon.EventBlockStart, Index: b.index, Block: &canon.Block{Type: canon.BlockText}})
		}
		if b != nil && b.open && ev.Delta != "" {
			out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaText, Text: ev.Delta})
		}
	case "response.content_part.done":
		out = d.close(out, partKey{ev.OutputIndex, ev.ContentIndex})
	case "response.function_call_arguments.delta":
		if b := d.blocks[partKey{ev.OutputIndex, -1}]; b != nil && b.open && b.typ == canon.BlockToolCall && ev.Delta != "" {
			b.args = true
			out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaArguments, Text: ev.Delta})
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		b := d.blocks[partKey{ev.OutputIndex, -1}]
		if b == nil && ev.Delta != "" { // a server that sent no output_item.added
			b = d.open(partKey{ev.OutputIndex, -1}, canon.BlockThinking)
			out = append(out, canon.Event{Type: canon.EventBlockStart, Index: b.index, Block: &canon.Block{Type: canon.BlockThinking}})
		}
		if b == nil || !b.open || b.typ != canon.BlockThinking || ev.Delta == "" {
			break
		}
		text := ev.Delta
		if name == "response.reasoning_summary_text.delta" && ev.SummaryIndex > 0 && b.text && !b.delta {
			text = "\n\n" + text // a later summary part
		}
		b.text, b.delta = true, true
		out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaThinking, Text: text})
	case "response.reasoning_summary_part.added":
		if b := d.blocks[partKey{ev.OutputIndex, -1}]; b != nil {
			b.delta = false
		}
	case "response.output_item.done":
		if ev.Item == nil {
			return nil, errMalformedEvent
		}
		key := partKey{ev.OutputIndex, -1}
		b := d.blocks[key]
		if b != nil && b.open && b.typ == canon.BlockToolCall && !b.args {
			if args := rawArguments(ev.Item.Arguments); string(args) != "{}" {
				out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaArguments, Text: string(args)})
			}
		}
		if b != nil && b.open && b.typ == canon.BlockThinking {
			if sig := reasoningSignature(ev.Item.ID, ev.Item.EncryptedContent); sig != "" {
				out = append(out, canon.Event{Type: canon.EventDelta, Index: b.index, Delta: canon.DeltaSignature, Text: sig})
			}
		}
		out = d.close(out, key)
		out = d.closeOpen(out, func(k partKey) bool { return k.item == ev.OutputIndex }) // a message's parts left open
	case "response.completed", "response.incomplete":
		d.ended = true
		out = d.closeOpen(out, func(partKey) bool { return true })
		md := canon.Event{Type: canon.EventMessageDelta, StopReason: canon.StopEndTurn}
		if r := ev.Response; r != nil {
			reason := ""
			if r.IncompleteDetails != nil {
				reason = r.IncompleteDetails.Reason
			}
			status := r.Status
			if name == "response.incomplete" {
				status = "incomplete"
			}
			md.StopReason = stopFromResponses(status, reason, d.calls)
			if r.Usage != nil {
				u := r.Usage.normalise()
				md.Usage = &u
			}
		}
		out = append(out, md, canon.Event{Type: canon.EventStop})
	case "response.failed":
		d.ended = true
		e := &canon.Error{Type: canon.ErrAPI, Message: "upstream error"}
		if r := ev.Response; r != nil && r.Error != nil {
			e.Code, e.Type = r.Error.Code, errorTypeFromChat(r.Error.Code, r.Error.Code)
			e.Message = cmpOr(r.Error.Message, e.Message)
		}
		out = append(out, canon.Event{Type: canon.EventError, Error: e})
	case "error":
		d.ended = true
		out = append(out, canon.Event{Type: canon.EventError, Error: ResponsesCodec{}.DecodeError(0, data)})
	}
	return out, nil
}

func (d *responsesStreamDecoder) open(k partKey, typ canon.BlockType) *decodedBlock {
	if b := d.blocks[k]; b != nil && b.open {
		return b // a repeated added event: the block is open already
	}
	b := &decodedBlock{index: d.next, typ: typ, open: true}
	d.next++
	d.blocks[k] = b
	return b
}

func (d *responsesStreamDecoder) close(out []canon.Event, k partKey) []canon.Event {
	if b := d.blocks[k]; b != nil && b.open {
		b.open = false
		out = append(out, canon.Event{Type: canon.EventBlockStop, Index: b.index})
	}
	return out
}

// closeOpen closes the open blocks that match, in the order they opened.
func (d *responsesStreamDecoder) closeOpen(out []canon.Event, match func(partKey) bool) []canon.Event {
	for i := 0; i < d.next; i++ {
		for k, b := range d.blocks {
			if b.index == i && b.open && match(k) {
				out = d.close(out, k)
			}
		}
	}
	return out
}

// End implements canon.StreamDecoder: a close without a terminal event
// is a truncated stream.
func (d *responsesStreamDecoder) End() []canon.Event { return nil }

// responsesStreamEncoder writes canonical events as a Responses stream,
// the sequence Codex and the SDKs read (docs/wire-formats.md, "Stream
// event sequences clients depend on"): response.created and
// response.in_progress; per block an output item with its added, delta
// and done events; response.completed (or response.incomplete) with the
// whole response and its usage. Every event carries sequence_number.
type responsesStreamEncoder struct {
	seq           int
	id, model     string
	ids           itemIDs
	started, done bool
	items         map[int]*encodedItem // canonical index → item
	order         []int
	output        []*outputItemOut // by output_index; nil until the item is done
	stop          canon.StopReason
	usage         *llm.Usage
	custom        map[string]bool // custom tools' names
}

type encodedItem struct {
	item        outputItemOut
	outputIndex int
	text        strings.Builder
	part        bool // a summary part was opened
	open        bool
}

// NewStreamEncoder implements the translate codec. Responses always puts
// usage in response.completed, so the request changes nothing.
// A call of a tool the client declared as a custom tool becomes a
// custom_tool_call item again, its input unwrapped once whole.
func (ResponsesCodec) NewStreamEncoder(req *canon.Request) canon.StreamEncoder {
	return &responsesStreamEncoder{items: map[int]*encodedItem{}, custom: customTools(req)}
}

// event writes one SSE event: the type and sequence_number first, then
// v's members.
func (s *responsesStreamEncoder) event(typ string, v any) canon.SSE {
	b, _ := json.Marshal(v)
	head := `{"type":"` + typ + `","sequence_number":` + strconv.Itoa(s.seq)
	s.seq++
	if len(b) > 2 {
		head += ","
	}
	return canon.SSE{Name: typ, Data: append([]byte(head), b[1:]...)}
}

type itemEvent struct {
	OutputIndex int           `json:"output_index"`
	Item        outputItemOut `json:"item"`
}

type partEvent struct {
	ItemID       string        `json:"item_id"`
	OutputIndex  int           `json:"output_index"`
	ContentIndex int           `json:"content_index"`
	Part         outputTextOut `json:"part"`
}

type textEvent struct {
	ItemID       string  `json:"item_id"`
	OutputIndex  int     `json:"output_index"`
	ContentIndex int     `json:"content_index"`
	Delta        *string `json:"delta,omitempty"`
	Text         *string `json:"text,omitempty"`
	Logprobs     []any   `json:"logprobs"`
}

type argsEvent struct {
	ItemID      string  `json:"item_id"`
	OutputIndex int     `json:"output_index"`
	Delta       *string `json:"delta,omitempty"`
	Name        string  `json:"name,omitempty"`
	Arguments   *string `json:"arguments,omitempty"`
}

type summaryEvent struct {
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	SummaryIndex int         `json:"summary_index"`
	Part         *summaryOut `json:"part,omitempty"`
	Delta        *string     `json:"delta,omitempty"`
	Text         *string     `json:"text,omitempty"`
}

func (s *responsesStreamEncoder) Encode(ev canon.Event) []canon.SSE {
	if s.done {
		return nil
	}
	var out []canon.SSE
	if !s.started && ev.Type != canon.EventError {
		out = s.start(ev)
	}
	switch ev.Type {
	case canon.EventBlockStart:
		if ev.Block == nil || s.items[ev.Index] != nil {
			break
		}
		out = append(out, s.startItem(ev.Index, *ev.Block)...)
	case canon.EventDelta:
		it := s.items[ev.Index]
		if it == nil || !it.open || ev.Text == "" {
			break
		}
		out = append(out, s.delta(it, ev.Delta, ev.Text)...)
	case canon.EventBlockStop:
		if it := s.items[ev.Index]; it != nil {
			out = append(out, s.finishItem(it)...)
		}
	case canon.EventMessageDelta:
		if ev.StopReason != "" {
			s.stop = ev.StopReason
		}
		if ev.Usage != nil {
			u := *ev.Usage
			s.usage = &u
		}
	case canon.EventStop:
		for _, i := range s.order {
			out = append(out, s.finishItem(s.items[i])...)
		}
		s.done = true
		status, reason := responsesStatus(s.stop)
		u := llm.Usage{}
		if s.usage != nil {
			u = *s.usage
		}
		typ := "response.completed"
		if status == "incomplete" {
			typ = "response.incomplete"
		}
		out = append(out, s.event(typ, struct {
			Response responseOut `json:"response"`
		}{s.response(status, reason, encodeResponsesUsage(u))}))
	case canon.EventError:
		// The error event, in the documented shape (code and message at
		// the top level) and the live API's (a nested error object), then
		// response.failed: Codex ends its turn only on a terminal event.
		s.done = true
		e := ev.Error
		if e == nil {
			e = &canon.Error{Type: canon.ErrAPI, Message: "upstream error"}
		}
		k, ok := chatErrorTypes[e.Type]
		if !ok {
			k = chatErrorTypes[canon.ErrAPI]
		}
		code := cmpOr(e.Code, k[1])
		codeOut := &code
		if code == "" {
			codeOut = nil
		}
		errObj := errorObject{Message: e.Message, Type: k[0], Code: codeOut}
		out = append(out, s.event("error", struct {
			Code    *string     `json:"code"`
			Message string      `json:"message"`
			Param   *string     `json:"param"`
			Error   errorObject `json:"error"`
		}{codeOut, e.Message, nil, errObj}))
		failed := s.response("failed", "", nil)
		failed.Error = struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}{cmpOr(code, k[0]), e.Message}
		out = append(out, s.event("response.failed", struct {
			Response responseOut `json:"response"`
		}{failed}))
	}
	return out
}

func (s *responsesStreamEncoder) response(status, reason string, usage *responsesUsageOut) responseOut {
	var done []outputItemOut
	for _, it := range s.output {
		if it != nil {
			done = append(done, *it)
		}
	}
	return newResponseOut(s.id, s.model, status, reason, done, usage)
}

func (s *responsesStreamEncoder) start(ev canon.Event) []canon.SSE {
	s.started = true
	if ev.Type == canon.EventStart {
		s.id, s.model = ev.ID, ev.Model
	}
	s.ids = newItemIDs(s.id)
	var out []canon.SSE
	for _, typ := range []string{"response.created", "response.in_progress"} {
		out = append(out, s.event(typ, struct {
			Response responseOut `json:"response"`
		}{s.response("in_progress", "", nil)}))
	}
	return out
}

func (s *responsesStreamEncoder) startItem(index int, b canon.Block) []canon.SSE {
	it := &encodedItem{outputIndex: len(s.output), open: true}
	switch b.Type {
	case canon.BlockText:
		it.item = outputItemOut{ID: s.ids.next("msg"), Type: "message", Status: "in_progress", Role: "assistant", Content: &[]outputTextOut{}}
	case canon.BlockToolCall:
		empty := ""
		if s.custom[b.Name] {
			it.item = outputItemOut{ID: s.ids.next("ctc"), Type: "custom_tool_call", Status: "in_progress", CallID: b.ID, Name: b.Name, Input: &empty}
			break
		}
		it.item = outputItemOut{ID: s.ids.next("fc"), Type: "function_call", Status: "in_progress", CallID: b.ID, Name: b.Name, Arguments: &empty}
	case canon.BlockThinking:
		it.item = outputItemOut{ID: s.ids.next("rs"), Type: "reasoning", Summary: &[]summaryOut{}}
		it.item.EncryptedContent = thinkingItem("", b).EncryptedContent
	case canon.BlockRedactedThinking:
		it.item = thinkingItem(s.ids.next("rs"), b)
	default:
		return nil
	}
	s.output = append(s.output, nil)
	s.items[index] = it
	s.order = append(s.order, index)
	added := it.item
	added.EncryptedContent = ""
	out := []canon.SSE{s.event("response.output_item.added", itemEvent{it.outputIndex, added})}
	if b.Type == canon.BlockText {
		out = append(out, s.event("response.content_part.added", partEvent{it.item.ID, it.outputIndex, 0, newOutputText("")}))
	}
	var first string
	var dt canon.DeltaType
	switch b.Type {
	case canon.BlockText:
		first, dt = b.Text, canon.DeltaText
	case canon.BlockThinking:
		first, dt = b.Text, canon.DeltaThinking
	case canon.BlockToolCall:
		first, dt = string(b.Arguments), canon.DeltaArguments
	}
	if first != "" {
		out = append(out, s.delta(it, dt, first)...)
	}
	return out
}

func (s *responsesStreamEncoder) delta(it *encodedItem, dt canon.DeltaType, text string) []canon.SSE {
	id, oi := it.item.ID, it.outputIndex
	switch {
	case dt == canon.DeltaText && it.item.Type == "message":
		it.text.WriteString(text)
		return []canon.SSE{s.event("response.output_text.delta", textEvent{id, oi, 0, &text, nil, []any{}})}
	case dt == canon.DeltaArguments && it.item.Type == "custom_tool_call":
		it.text.WriteString(text) // JSON until whole
	case dt == canon.DeltaArguments && it.item.Type == "function_call":
		it.text.WriteString(text)
		return []canon.SSE{s.event("response.function_call_arguments.delta", argsEvent{ItemID: id, OutputIndex: oi, Delta: &text})}
	case dt == canon.DeltaThinking && it.item.Type == "reasoning":
		var out []canon.SSE
		if !it.part {
			it.part = true
			out = append(out, s.event("response.reasoning_summary_part.added", summaryEvent{ItemID: id, OutputIndex: oi, Part: &summaryOut{"summary_text", ""}}))
		}
		it.text.WriteString(text)
		return append(out, s.event("response.reasoning_summary_text.delta", summaryEvent{ItemID: id, OutputIndex: oi, Delta: &text}))
	case dt == canon.DeltaSignature && it.item.Type == "reasoning":
		it.item.EncryptedContent = SignaturePrefix + strings.TrimPrefix(it.item.EncryptedContent, SignaturePrefix) + text
	}
	return nil
}

func (s *responsesStreamEncoder) finishItem(it *encodedItem) []canon.SSE {
	if it == nil || !it.open {
		return nil
	}
	it.open = false
	id, oi, text := it.item.ID, it.outputIndex, it.text.String()
	var out []canon.SSE
	switch it.item.Type {
	case "message":
		part := newOutputText(text)
		out = append(out,
			s.event("response.output_text.done", textEvent{id, oi, 0, nil, &text, []any{}}),
			s.event("response.content_part.done", partEvent{id, oi, 0, part}))
		it.item.Content = &[]outputTextOut{part}
	case "function_call":
		args := text
		if args == "" {
			args = "{}"
		}
		it.item.Arguments = &args
		out = append(out, s.event("response.function_call_arguments.done", argsEvent{ItemID: id, OutputIndex: oi, Name: it.item.Name, Arguments: &args}))
	case "custom_tool_call":
		var in customInput
		if json.Unmarshal([]byte(text), &in) != nil {
			in.Input = text // not the wrapper: the text as it came
		}
		if in.Input != "" {
			out = append(out, s.event("response.custom_tool_call_input.delta", argsEvent{ItemID: id, OutputIndex: oi, Delta: &in.Input}))
		}
		out = append(out, s.event("response.custom_tool_call_input.done", struct {
			ItemID      string `json:"item_id"`
			OutputIndex int    `json:"output_index"`
			Input       string `json:"input"`
		}{id, oi, in.Input}))
		it.item.Input = &in.Input
	case "reasoning":
		if it.part {
			part := summaryOut{"summary_text", text}
			out = append(out,
				s.event("response.reasoning_summary_text.done", summaryEvent{ItemID: id, OutputIndex: oi, Text: &text}),
				s.event("response.reasoning_summary_part.done", summaryEvent{ItemID: id, OutputIndex: oi, Part: &part}))
			it.item.Summary = &[]summaryOut{part}
		}
	}
	if it.item.Status != "" {
		it.item.Status = "completed"
	}
	out = append(out, s.event("response.output_item.done", itemEvent{oi, it.item}))
	done := it.item
	s.output[oi] = &done
	return out
}
