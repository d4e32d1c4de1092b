package anthropic

import (
	"encoding/json"

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
