package openai

import (
	"bytes"
	"encoding/json"

	"aether/internal/canon"
	"aether/internal/canon/jsontext"
)

// readResponsesRequest decodes a Responses request body into in in one
// scan (internal/canon/jsontext), filling what json.Unmarshal would fill;
// input stays raw for readResponsesItems. It gives false for a body it
// does not read exactly as json.Unmarshal does (a duplicate key, null in
// a known member, a type mismatch, a syntax error); the caller then uses
// json.Unmarshal.
func readResponsesRequest(body []byte, in *responsesRequestJSON) bool {
	var r jsontext.Reader
	r.Reset(body)
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "model":
			chatString(&r, &seen, 1<<0, &in.Model)
		case "instructions":
			if chatOnce(&r, &seen, 1<<1) {
				in.Instructions = r.Raw()
			}
		case "input":
			if chatOnce(&r, &seen, 1<<2) {
				in.Input = r.Raw()
			}
		case "tools":
			if chatOnce(&r, &seen, 1<<3) {
				in.Tools = make([]responsesToolJSON, 0, 8)
				for range r.Array() {
					var t responsesToolJSON
					readResponsesTool(&r, &t)
					in.Tools = append(in.Tools, t)
				}
			}
		case "tool_choice":
			if chatOnce(&r, &seen, 1<<4) {
				in.ToolChoice = r.Raw()
			}
		case "parallel_tool_calls":
			if chatOnce(&r, &seen, 1<<5) {
				v := r.Bool()
				in.ParallelToolCalls = &v
			}
		case "reasoning":
			if chatOnce(&r, &seen, 1<<6) {
				in.Reasoning = &responsesEffortJSON{}
				var seen uint32
				for key := range r.Object() {
					if string(key) == "effort" {
						chatString(&r, &seen, 1, &in.Reasoning.Effort)
						continue
					}
					r.SkipUnknown(key)
				}
			}
		case "text":
			if chatOnce(&r, &seen, 1<<7) {
				in.Text = &responsesTextJSON{}
				var seen uint32
				for key := range r.Object() {
					if string(key) == "format" {
						if chatOnce(&r, &seen, 1) {
							in.Text.Format = &responsesFormatJSON{}
							readResponsesFormat(&r, in.Text.Format)
						}
						continue
					}
					r.SkipUnknown(key)
				}
			}
		case "max_output_tokens":
			if chatOnce(&r, &seen, 1<<8) {
				in.MaxOutputTokens = r.Int64()
			}
		case "temperature":
			if chatOnce(&r, &seen, 1<<9) {
				v := r.Float64()
				in.Temperature = &v
			}
		case "top_p":
			if chatOnce(&r, &seen, 1<<10) {
				v := r.Float64()
				in.TopP = &v
			}
		case "stream":
			if chatOnce(&r, &seen, 1<<11) {
				in.Stream = r.Bool()
			}
		case "user":
			chatString(&r, &seen, 1<<12, &in.User)
		case "safety_identifier":
			chatString(&r, &seen, 1<<13, &in.SafetyIdentifier)
		case "previous_response_id":
			chatString(&r, &seen, 1<<14, &in.PreviousResponseID)
		default:
			r.SkipUnknown(key)
		}
	}
	return r.End()
}

func readResponsesTool(r *jsontext.Reader, t *responsesToolJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "type":
			chatString(r, &seen, 1<<0, &t.Type)
		case "name":
			chatString(r, &seen, 1<<1, &t.Name)
		case "description":
			chatString(r, &seen, 1<<2, &t.Description)
		case "parameters":
			if chatOnce(r, &seen, 1<<3) {
				t.Parameters = r.Raw()
			}
		case "format":
			if chatOnce(r, &seen, 1<<4) {
				t.Format = &responsesGrammarJSON{}
				var seen uint32
				for key := range r.Object() {
					switch string(key) {
					case "type":
						chatString(r, &seen, 1<<0, &t.Format.Type)
					case "syntax":
						chatString(r, &seen, 1<<1, &t.Format.Syntax)
					case "definition":
						chatString(r, &seen, 1<<2, &t.Format.Definition)
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

func readResponsesFormat(r *jsontext.Reader, f *responsesFormatJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "type":
			chatString(r, &seen, 1<<0, &f.Type)
		case "name":
			chatString(r, &seen, 1<<1, &f.Name)
		case "schema":
			if chatOnce(r, &seen, 1<<2) {
				f.Schema = r.Raw()
			}
		case "strict":
			if chatOnce(r, &seen, 1<<3) {
				v := r.Bool()
				f.Strict = &v
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

// readResponsesItems decodes input items as json.Unmarshal into
// []responsesItemJSON would, or gives false (see readResponsesRequest).
func readResponsesItems(raw json.RawMessage) ([]responsesItemJSON, bool) {
	var r jsontext.Reader
	r.Reset(raw)
	items := make([]responsesItemJSON, 0, 16)
	for range r.Array() {
		var it responsesItemJSON
		var seen uint32
		for key := range r.Object() {
			switch string(key) {
			case "type":
				chatString(&r, &seen, 1<<0, &it.Type)
			case "id":
				chatString(&r, &seen, 1<<1, &it.ID)
			case "role":
				chatString(&r, &seen, 1<<2, &it.Role)
			case "content":
				if chatOnce(&r, &seen, 1<<3) {
					it.Content = r.Raw()
				}
			case "call_id":
				chatString(&r, &seen, 1<<4, &it.CallID)
			case "name":
				chatString(&r, &seen, 1<<5, &it.Name)
			case "arguments":
				if chatOnce(&r, &seen, 1<<6) {
					it.Arguments = r.Raw()
				}
			case "output":
				if chatOnce(&r, &seen, 1<<7) {
					it.Output = r.Raw()
				}
			case "summary":
				if chatOnce(&r, &seen, 1<<8) {
					it.Summary = make([]responsesSummaryJSON, 0, 2)
					for range r.Array() {
						var s responsesSummaryJSON
						var seen uint32
						for key := range r.Object() {
							switch string(key) {
							case "type":
								chatString(&r, &seen, 1<<0, &s.Type)
							case "text":
								chatString(&r, &seen, 1<<1, &s.Text)
							default:
								r.SkipUnknown(key)
							}
						}
						it.Summary = append(it.Summary, s)
					}
				}
			case "encrypted_content":
				chatString(&r, &seen, 1<<9, &it.EncryptedContent)
			case "input":
				chatString(&r, &seen, 1<<10, &it.Input)
			default:
				r.SkipUnknown(key)
			}
		}
		items = append(items, it)
	}
	return items, r.End()
}

// readResponsesContent reads what decodeContent(raw, responsesPartBlock)
// reads without an error, or gives false; the caller then uses
// decodeContent.
func readResponsesContent(raw json.RawMessage) ([]canon.Block, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, true
	}
	var r jsontext.Reader
	r.Reset(raw)
	if raw[0] == '"' {
		s := r.String()
		if !r.End() {
			return nil, false
		}
		if s == "" {
			return nil, true
		}
		return []canon.Block{{Type: canon.BlockText, Text: s}}, true
	}
	var out []canon.Block
	for range r.Array() {
		var p responsesPartJSON
		var seen uint32
		for key := range r.Object() {
			switch string(key) {
			case "type":
				chatString(&r, &seen, 1<<0, &p.Type)
			case "text":
				chatString(&r, &seen, 1<<1, &p.Text)
			case "refusal":
				chatString(&r, &seen, 1<<2, &p.Refusal)
			case "image_url":
				if chatOnce(&r, &seen, 1<<3) {
					p.ImageURL = r.Raw()
				}
			default:
				r.SkipUnknown(key)
			}
		}
		if b, ok := responsesPartBlock(p); ok {
			out = append(out, b)
		}
	}
	return out, r.End()
}
