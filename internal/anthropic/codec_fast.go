package anthropic

import (
	"encoding/json"

	"aether/internal/canon"
	"aether/internal/canon/jsontext"
)

// readRequest decodes a request body into in in one scan
// (internal/canon/jsontext), filling what json.Unmarshal would fill. It
// gives false for a body it does not read exactly as json.Unmarshal does
// (a duplicate key, null in a known member, a member it does not decode,
// a type mismatch, a syntax error); the caller then uses json.Unmarshal.
func readRequest(body []byte, in *requestJSON) bool {
	var r jsontext.Reader
	r.Reset(body)
	var seen uint32
	once := func(bit uint32) bool {
		if seen&bit != 0 || r.IsNull() {
			r.Fail()
			return false
		}
		seen |= bit
		return true
	}
	for key := range r.Object() {
		switch string(key) {
		case "model":
			if once(1 << 0) {
				in.Model = r.String()
			}
		case "system":
			if once(1 << 1) {
				in.System, in.systemBlocks = readContent(&r)
			}
		case "messages":
			if once(1 << 2) {
				in.Messages = make([]messageJSON, 0, 16)
				for range r.Array() {
					var m messageJSON
					readMessage(&r, &m)
					in.Messages = append(in.Messages, m)
				}
			}
		case "tools":
			if once(1 << 3) {
				in.Tools = make([]toolJSON, 0, 8)
				for range r.Array() {
					var t toolJSON
					readTool(&r, &t)
					in.Tools = append(in.Tools, t)
				}
			}
		case "tool_choice":
			if once(1 << 4) {
				in.ToolChoice = &toolChoiceJSON{}
				var seen uint32
				for key := range r.Object() {
					switch string(key) {
					case "type":
						if onceIn(&r, &seen, 1<<0) {
							in.ToolChoice.Type = r.String()
						}
					case "name":
						if onceIn(&r, &seen, 1<<1) {
							in.ToolChoice.Name = r.String()
						}
					case "disable_parallel_tool_use":
						if onceIn(&r, &seen, 1<<2) {
							in.ToolChoice.DisableParallelToolUse = r.Bool()
						}
					default:
						r.SkipUnknown(key)
					}
				}
			}
		case "max_tokens":
			if once(1 << 5) {
				in.MaxTokens = r.Int64()
			}
		case "temperature":
			if once(1 << 6) {
				v := r.Float64()
				in.Temperature = &v
			}
		case "top_p":
			if once(1 << 7) {
				v := r.Float64()
				in.TopP = &v
			}
		case "stop_sequences":
			if once(1 << 8) {
				in.StopSequences = []string{}
				for range r.Array() {
					if r.IsNull() {
						r.Fail()
					}
					in.StopSequences = append(in.StopSequences, r.String())
				}
			}
		case "stream":
			if once(1 << 9) {
				in.Stream = r.Bool()
			}
		case "metadata":
			if once(1 << 10) {
				in.Metadata = &metadataJSON{}
				var seen uint32
				for key := range r.Object() {
					if string(key) == "user_id" {
						if onceIn(&r, &seen, 1) {
							in.Metadata.UserID = r.String()
						}
						continue
					}
					r.SkipUnknown(key)
				}
			}
		case "thinking":
			if once(1 << 11) {
				in.Thinking = &thinkingJSON{}
				var seen uint32
				for key := range r.Object() {
					switch string(key) {
					case "type":
						if onceIn(&r, &seen, 1<<0) {
							in.Thinking.Type = r.String()
						}
					case "budget_tokens":
						if onceIn(&r, &seen, 1<<1) {
							in.Thinking.BudgetTokens = r.Int64()
						}
					default:
						r.SkipUnknown(key)
					}
				}
			}
		case "output_config", "output_format":
			r.Fail() // rare: left to encoding/json
		default:
			r.SkipUnknown(key)
		}
	}
	return r.End()
}

// onceIn is readRequest's duplicate and null check for a nested object.
func onceIn(r *jsontext.Reader, seen *uint32, bit uint32) bool {
	if *seen&bit != 0 || r.IsNull() {
		r.Fail()
		return false
	}
	*seen |= bit
	return true
}

func readMessage(r *jsontext.Reader, m *messageJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "role":
			if onceIn(r, &seen, 1<<0) {
				m.Role = r.String()
			}
		case "content":
			if onceIn(r, &seen, 1<<1) {
				m.Content, m.blocks = readContent(r)
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

func readTool(r *jsontext.Reader, t *toolJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "type":
			if onceIn(r, &seen, 1<<0) {
				t.Type = r.String()
			}
		case "name":
			if onceIn(r, &seen, 1<<1) {
				t.Name = r.String()
			}
		case "description":
			if onceIn(r, &seen, 1<<2) {
				t.Description = r.String()
			}
		case "input_schema":
			if onceIn(r, &seen, 1<<3) {
				t.InputSchema = r.Raw()
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

// readContent reads a content member: a string stays raw, an array of
// blocks is decoded now.
func readContent(r *jsontext.Reader) (json.RawMessage, parsedBlocks) {
	if r.Peek() != '[' {
		return r.Raw(), parsedBlocks{}
	}
	blocks := make([]blockJSON, 0, 4)
	for range r.Array() {
		var b blockJSON
		readBlock(r, &b)
		blocks = append(blocks, b)
	}
	return nil, parsedBlocks{ok: true, blocks: blocks}
}

// readBlocks decodes an array of content blocks as json.Unmarshal into
// []blockJSON would, or gives false (see readRequest).
func readBlocks(raw json.RawMessage) ([]blockJSON, bool) {
	var r jsontext.Reader
	r.Reset(raw)
	out := make([]blockJSON, 0, 4)
	for range r.Array() {
		var b blockJSON
		readBlock(&r, &b)
		out = append(out, b)
	}
	return out, r.End()
}

func readBlock(r *jsontext.Reader, b *blockJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "type":
			if onceIn(r, &seen, 1<<0) {
				b.Type = r.String()
			}
		case "text":
			if onceIn(r, &seen, 1<<1) {
				b.Text = r.String()
			}
		case "source":
			if onceIn(r, &seen, 1<<2) {
				b.Source = &sourceJSON{}
				var seen uint32
				for key := range r.Object() {
					switch string(key) {
					case "type":
						if onceIn(r, &seen, 1<<0) {
							b.Source.Type = r.String()
						}
					case "media_type":
						if onceIn(r, &seen, 1<<1) {
							b.Source.MediaType = r.String()
						}
					case "data":
						if onceIn(r, &seen, 1<<2) {
							b.Source.Data = r.String()
						}
					case "url":
						if onceIn(r, &seen, 1<<3) {
							b.Source.URL = r.String()
						}
					default:
						r.SkipUnknown(key)
					}
				}
			}
		case "id":
			if onceIn(r, &seen, 1<<3) {
				b.ID = r.String()
			}
		case "name":
			if onceIn(r, &seen, 1<<4) {
				b.Name = r.String()
			}
		case "input":
			if onceIn(r, &seen, 1<<5) {
				b.Input = r.Raw()
			}
		case "tool_use_id":
			if onceIn(r, &seen, 1<<6) {
				b.ToolUseID = r.String()
			}
		case "content":
			if onceIn(r, &seen, 1<<7) {
				b.Content, b.blocks = readContent(r)
			}
		case "is_error":
			if onceIn(r, &seen, 1<<8) {
				b.IsError = r.Bool()
			}
		case "thinking":
			if onceIn(r, &seen, 1<<9) {
				b.Thinking = r.String()
			}
		case "signature":
			if onceIn(r, &seen, 1<<10) {
				b.Signature = r.String()
			}
		case "data":
			if onceIn(r, &seen, 1<<11) {
				b.Data = r.String()
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

// appendRequest appends the body encodeRequestJSON writes, byte for byte:
// json.Marshal writes a map's keys sorted and a struct's fields in order.
// It gives false for a request it does not write (a temperature or top_p
// json.Marshal refuses); the caller then uses encodeRequestJSON for its
// error.
func appendRequest(dst []byte, r *canon.Request) ([]byte, bool) {
	maxTokens := r.MaxTokens
	if maxTokens <= 0 {
		maxTokens = defaultMaxTokens(r.Model)
	}
	var budget int64
	thinking := ""
	if rs := r.Reasoning; rs != nil {
		switch {
		case rs.Disabled:
			thinking = "disabled"
		case rs.BudgetTokens > 0 || rs.Effort != "":
			var ok bool
			if budget, ok = thinkingBudget(r, maxTokens); ok {
				thinking = "enabled"
			}
		}
	}
	var err error
	dst = append(dst, `{"max_tokens":`...)
	dst = jsontext.AppendInt(dst, maxTokens)
	dst = append(dst, `,"messages":[`...)
	first := true
	for _, m := range r.Messages {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"content":`...)
		start := len(dst)
		if dst, err = appendBlocks(dst, m.Content); err != nil {
			return dst, false
		}
		if len(dst) == start+2 {
			dst = dst[:mark] // Anthropic rejects an empty message
			continue
		}
		first = false
		dst = append(dst, `,"role":`...)
		dst = jsontext.AppendString(dst, string(m.Role))
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if r.User != "" {
		dst = append(dst, `,"metadata":{"user_id":`...)
		dst = jsontext.AppendString(dst, r.User)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"model":`...)
	dst = jsontext.AppendString(dst, r.Model)
	if f := r.ResponseFormat; f != nil && f.Type == canon.FormatJSONSchema && isObject(f.Schema) {
		dst = append(dst, `,"output_config":{"format":{"schema":`...)
		if dst, err = jsontext.AppendRaw(dst, f.Schema); err != nil {
			return dst, false
		}
		dst = append(dst, `,"type":"json_schema"}}`...)
	}
	if len(r.Stop) > 0 {
		dst = append(dst, `,"stop_sequences":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsontext.AppendString(dst, s)
		}
		dst = append(dst, ']')
	}
	if r.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if len(r.System) > 0 {
		dst = append(dst, `,"system":`...)
		if dst, err = appendBlocks(dst, r.System); err != nil {
			return dst, false
		}
	}
	if r.Temperature != nil && thinking != "enabled" {
		dst = append(dst, `,"temperature":`...)
		if dst, err = jsontext.AppendFloat(dst, *r.Temperature); err != nil {
			return dst, false
		}
	}
	switch thinking {
	case "disabled":
		dst = append(dst, `,"thinking":{"type":"disabled"}`...)
	case "enabled":
		dst = append(dst, `,"thinking":{"budget_tokens":`...)
		dst = jsontext.AppendInt(dst, budget)
		dst = append(dst, `,"type":"enabled"}`...)
	}
	if len(r.Tools) > 0 {
		// tool_choice only with tools: the API rejects it alone.
		if tc := r.ToolChoice; tc != nil || r.ParallelToolCalls != nil && !*r.ParallelToolCalls {
			choice, name := "auto", ""
			if tc != nil {
				switch tc.Mode {
				case canon.ToolNone:
					choice = "none"
				case canon.ToolRequired:
					choice = "any"
				case canon.ToolNamed:
					choice, name = "tool", tc.Name
				}
			}
			dst = append(dst, `,"tool_choice":{`...)
			if r.ParallelToolCalls != nil && !*r.ParallelToolCalls && choice != "none" {
				dst = append(dst, `"disable_parallel_tool_use":true,`...)
			}
			if choice == "tool" {
				dst = append(dst, `"name":`...)
				dst = jsontext.AppendString(dst, name)
				dst = append(dst, ',')
			}
			dst = append(dst, `"type":`...)
			dst = jsontext.AppendString(dst, choice)
			dst = append(dst, '}')
		}
		dst = append(dst, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if t.Description != "" {
				dst = append(dst, `"description":`...)
				dst = jsontext.AppendString(dst, t.Description)
				dst = append(dst, ',')
			}
			dst = append(dst, `"input_schema":`...)
			if isObject(t.Parameters) {
				if dst, err = jsontext.AppendRaw(dst, t.Parameters); err != nil {
					return dst, false
				}
			} else {
				dst = append(dst, `{"type":"object"}`...)
			}
			dst = append(dst, `,"name":`...)
			dst = jsontext.AppendString(dst, t.Name)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if r.TopP != nil && thinking != "enabled" {
		dst = append(dst, `,"top_p":`...)
		if dst, err = jsontext.AppendFloat(dst, *r.TopP); err != nil {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendBlocks appends what json.Marshal writes for encodeBlocks(blocks).
func appendBlocks(dst []byte, blocks []canon.Block) ([]byte, error) {
	dst = append(dst, '[')
	first := true
	for _, b := range blocks {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		var ok bool
		var err error
		if dst, ok, err = appendBlock(dst, b); err != nil {
			return dst, err
		}
		if !ok {
			dst = dst[:mark]
			continue
		}
		first = false
	}
	return append(dst, ']'), nil
}

// appendBlock appends what json.Marshal writes for encodeBlock(b), or
// gives false where encodeBlock gives nil.
func appendBlock(dst []byte, b canon.Block) ([]byte, bool, error) {
	var err error
	switch b.Type {
	case canon.BlockText:
		if b.Text == "" {
			return dst, false, nil
		}
		dst = append(dst, `{"type":"text","text":`...)
		dst = jsontext.AppendString(dst, b.Text)
	case canon.BlockImage:
		dst = append(dst, `{"type":"image","source":{"type":`...)
		if b.URL != "" {
			dst = append(dst, `"url","url":`...)
			dst = jsontext.AppendString(dst, b.URL)
		} else {
			dst = append(dst, `"base64"`...)
			if b.MediaType != "" {
				dst = append(dst, `,"media_type":`...)
				dst = jsontext.AppendString(dst, b.MediaType)
			}
			if b.Data != "" {
				dst = append(dst, `,"data":`...)
				dst = jsontext.AppendString(dst, b.Data)
			}
		}
		dst = append(dst, '}')
	case canon.BlockToolCall:
		dst = append(dst, `{"type":"tool_use","id":`...)
		dst = jsontext.AppendString(dst, b.ID)
		dst = append(dst, `,"name":`...)
		dst = jsontext.AppendString(dst, b.Name)
		dst = append(dst, `,"input":`...)
		if isObject(b.Arguments) {
			if dst, err = jsontext.AppendRaw(dst, b.Arguments); err != nil {
				return dst, false, err
			}
		} else {
			dst = append(dst, `{}`...)
		}
	case canon.BlockToolResult:
		dst = append(dst, `{"type":"tool_result","tool_use_id":`...)
		dst = jsontext.AppendString(dst, b.ID)
		mark := len(dst)
		dst = append(dst, `,"content":`...)
		start := len(dst)
		if dst, err = appendBlocks(dst, b.Content); err != nil {
			return dst, false, err
		}
		if len(dst) == start+2 {
			dst = dst[:mark] // omitempty
		}
		if b.IsError {
			dst = append(dst, `,"is_error":true`...)
		}
	case canon.BlockThinking:
		if !anthropicSigned(b) {
			return dst, false, nil
		}
		dst = append(dst, `{"type":"thinking","thinking":`...)
		dst = jsontext.AppendString(dst, b.Text)
		dst = append(dst, `,"signature":`...)
		dst = jsontext.AppendString(dst, b.Signature)
	case canon.BlockRedactedThinking:
		dst = append(dst, `{"type":"redacted_thinking","data":`...)
		dst = jsontext.AppendString(dst, b.Data)
	default:
		return dst, false, nil
	}
	return append(dst, '}'), true, nil
}

// readResponse decodes an answer body into in in one scan, content
// blocks included, or gives false as readRequest does; the caller then
// uses json.Unmarshal.
func readResponse(body []byte, in *responseJSON) bool {
	var r jsontext.Reader
	r.Reset(body)
	var seen uint32
	// A null string leaves it empty, as json.Unmarshal does: answers send
	// "stop_sequence": null.
	str := func(bit uint32, dst *string) {
		switch {
		case seen&bit != 0:
			r.Fail()
		case r.IsNull():
			seen |= bit
			r.Skip()
		default:
			seen |= bit
			*dst = r.String()
		}
	}
	for key := range r.Object() {
		switch string(key) {
		case "id":
			str(1<<0, &in.ID)
		case "type":
			str(1<<1, &in.Type)
		case "model":
			str(1<<2, &in.Model)
		case "content":
			if onceIn(&r, &seen, 1<<3) {
				in.Content, in.blocks = readContent(&r)
			}
		case "stop_reason":
			str(1<<4, &in.StopReason)
		case "stop_sequence":
			str(1<<5, &in.StopSequence)
		case "usage":
			if onceIn(&r, &seen, 1<<6) {
				in.Usage = &usageJSON{}
				readUsage(&r, in.Usage)
			}
		default:
			r.SkipUnknown(key)
		}
	}
	return r.End()
}

func readUsage(r *jsontext.Reader, u *usageJSON) {
	var seen uint32
	num := func(bit uint32, dst **int64) {
		if onceIn(r, &seen, bit) {
			v := r.Int64()
			*dst = &v
		}
	}
	for key := range r.Object() {
		switch string(key) {
		case "input_tokens":
			num(1<<0, &u.InputTokens)
		case "output_tokens":
			num(1<<1, &u.OutputTokens)
		case "cache_creation_input_tokens":
			num(1<<2, &u.CacheCreationInputTokens)
		case "cache_read_input_tokens":
			num(1<<3, &u.CacheReadInputTokens)
		case "cache_creation":
			if onceIn(r, &seen, 1<<4) {
				u.CacheCreation = &cacheCreationJSON{}
				var seen uint32
				for key := range r.Object() {
					switch string(key) {
					case "ephemeral_5m_input_tokens":
						if onceIn(r, &seen, 1<<0) {
							u.CacheCreation.Ephemeral5m = r.Int64()
						}
					case "ephemeral_1h_input_tokens":
						if onceIn(r, &seen, 1<<1) {
							u.CacheCreation.Ephemeral1h = r.Int64()
						}
					default:
						r.SkipUnknown(key)
					}
				}
			}
		default:
			r.SkipUnknown(key)
		}
	}
}
