package fakeupstream

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The tool-call knob (Knobs.ToolCall, X-Fake-Tool-Call): the answer is a
// call of the named tool with ToolArguments, streamed as argument deltas
// where the format has them (Gemini sends a call whole), until the
// request's last message carries a tool result; that request gets the
// usual text. One tool loop of any client therefore runs end to end.

// toolArgumentPieces are the argument deltas of a streamed tool call. They
// carry a quote and a non-ASCII rune, so a gateway that re-encodes them
// must escape them correctly.
var toolArgumentPieces = [...]string{`{"city":`, `"Zürich \"ZH\"",`, `"days":3}`}

// ToolArguments is the JSON arguments object of every tool call the
// ToolCall knob makes.
var ToolArguments = strings.Join(toolArgumentPieces[:], "")

// toolResultLast reports whether the request's last message is a tool
// result, in the endpoint's format: a Chat "tool" message, a Responses
// function_call_output item, an Anthropic user turn with a tool_result
// block, a Gemini content with a functionResponse part.
func (x *exchange) toolResultLast() bool {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Input    json.RawMessage `json:"input"`
		Contents []struct {
			Parts []map[string]json.RawMessage `json:"parts"`
		} `json:"contents"`
	}
	if json.Unmarshal(x.body, &req) != nil {
		return false
	}
	switch x.ep {
	case epChat:
		return len(req.Messages) > 0 && req.Messages[len(req.Messages)-1].Role == "tool"
	case epMessages:
		if len(req.Messages) == 0 {
			return false
		}
		var blocks []struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(req.Messages[len(req.Messages)-1].Content, &blocks)
		for _, b := range blocks {
			if b.Type == "tool_result" {
				return true
			}
		}
	case epResponses:
		var items []struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(req.Input, &items)
		return len(items) > 0 && items[len(items)-1].Type == "function_call_output"
	case epGeminiGenerate, epGeminiStream:
		if len(req.Contents) == 0 {
			return false
		}
		for _, p := range req.Contents[len(req.Contents)-1].Parts {
			if _, ok := p["functionResponse"]; ok {
				return true
			}
		}
	}
	return false
}

// callID is the tool call's id, unique per answer.
func (x *exchange) appendCallID(b []byte, prefix string) []byte {
	b = append(b, '"')
	b = append(b, prefix...)
	b = append(b, "fake"...)
	b = strconv.AppendUint(b, x.id, 10)
	return append(b, '"')
}

// chatTool serves a Chat Completions tool call.
func (x *exchange) chatTool() {
	name := x.p.toolCall
	if !x.stream {
		b := x.appendChatHead(x.buf[:0], "chat.completion")
		b = append(b, `"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":`...)
		b = x.appendCallID(b, "call_")
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, name)
		b = append(b, `,"arguments":`...)
		b = appendJSONString(b, ToolArguments)
		b = append(b, `}}],"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":`...)
		b = x.appendChatUsage(b)
		x.buf = append(b, '}')
		x.respond(ctJSON, x.buf)
		return
	}
	x.beginStream(ctSSE)
	x.pre = x.appendChatHead(append(x.pre[:0], "data: "...), "chat.completion.chunk")
	x.pre = append(x.pre, `"choices":`...)
	tail := "}\n\n"
	if x.includeUsage {
		tail = `,"usage":null}` + "\n\n"
	}
	b := append(x.buf[:0], x.pre...)
	b = append(b, `[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":`...)
	b = x.appendCallID(b, "call_")
	b = append(b, `,"type":"function","function":{"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"arguments":""}}]},"logprobs":null,"finish_reason":null}]`...)
	x.buf = append(b, tail...)
	x.event(x.buf)
	for _, piece := range toolArgumentPieces {
		b = append(x.buf[:0], x.pre...)
		b = append(b, `[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":`...)
		b = appendJSONString(b, piece)
		b = append(b, `}}]},"logprobs":null,"finish_reason":null}]`...)
		x.buf = append(b, tail...)
		x.event(x.buf)
	}
	b = append(x.buf[:0], x.pre...)
	b = append(b, `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]`...)
	x.buf = append(b, tail...)
	x.event(x.buf)
	if x.includeUsage {
		b = append(x.buf[:0], x.pre...)
		b = append(b, `[],"usage":`...)
		b = x.appendChatUsage(b)
		x.buf = append(b, "}\n\n"...)
		x.event(x.buf)
	}
	x.event(doneEvent)
	x.endStream()
}

// appendFunctionCallItem appends a Responses function_call output item,
// with its arguments once done.
func (x *exchange) appendFunctionCallItem(b []byte, done bool) []byte {
	b = append(b, `{"id":`...)
	b = x.appendCallID(b, "fc_")
	b = append(b, `,"type":"function_call","status":`...)
	if done {
		b = append(b, `"completed","arguments":`...)
		b = appendJSONString(b, ToolArguments)
	} else {
		b = append(b, `"in_progress","arguments":""`...)
	}
	b = append(b, `,"call_id":`...)
	b = x.appendCallID(b, "call_")
	b = append(b, `,"name":`...)
	b = appendJSONString(b, x.p.toolCall)
	return append(b, '}')
}

// responsesTool serves a Responses tool call.
func (x *exchange) responsesTool() {
	if !x.stream {
		x.buf = x.appendResponse(x.buf[:0], "completed")
		x.respond(ctJSON, x.buf)
		return
	}
	x.beginStream(ctSSE)
	seq := 0
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		b := x.responsesEvent(x.buf[:0], typ, &seq)
		b = append(b, `,"response":`...)
		x.buf = append(x.appendResponse(b, "in_progress"), "}\n\n"...)
		x.event(x.buf)
	}
	b := x.responsesEvent(x.buf[:0], "response.output_item.added", &seq)
	b = append(b, `,"output_index":0,"item":`...)
	x.buf = append(x.appendFunctionCallItem(b, false), "}\n\n"...)
	x.event(x.buf)
	x.pre = append(x.pre[:0], `,"item_id":`...)
	x.pre = x.appendCallID(x.pre, "fc_")
	x.pre = append(x.pre, `,"output_index":0`...)
	for _, piece := range toolArgumentPieces {
		b = x.responsesEvent(x.buf[:0], "response.function_call_arguments.delta", &seq)
		b = append(b, x.pre...)
		b = append(b, `,"delta":`...)
		b = appendJSONString(b, piece)
		x.buf = append(b, "}\n\n"...)
		x.event(x.buf)
	}
	b = x.responsesEvent(x.buf[:0], "response.function_call_arguments.done", &seq)
	b = append(b, x.pre...)
	b = append(b, `,"arguments":`...)
	b = appendJSONString(b, ToolArguments)
	x.buf = append(b, "}\n\n"...)
	x.event(x.buf)
	b = x.responsesEvent(x.buf[:0], "response.output_item.done", &seq)
	b = append(b, `,"output_index":0,"item":`...)
	x.buf = append(x.appendFunctionCallItem(b, true), "}\n\n"...)
	x.event(x.buf)
	b = x.responsesEvent(x.buf[:0], "response.completed", &seq)
	b = append(b, `,"response":`...)
	x.buf = append(x.appendResponse(b, "completed"), "}\n\n"...)
	x.event(x.buf)
	x.endStream()
}

// messagesTool serves an Anthropic tool_use answer.
func (x *exchange) messagesTool() {
	if !x.stream {
		b := x.appendMessageHead(x.buf[:0])
		b = append(b, `[{"type":"tool_use","id":`...)
		b = x.appendCallID(b, "toolu_")
		b = append(b, `,"name":`...)
		b = appendJSONString(b, x.p.toolCall)
		b = append(b, `,"input":`...)
		b = append(b, ToolArguments...)
		b = append(b, `}],"stop_reason":"tool_use","stop_sequence":null,"usage":`...)
		b = x.appendAnthropicUsage(b, true)
		x.buf = append(b, '}')
		x.respond(ctJSON, x.buf)
		return
	}
	x.beginStream(ctSSE)
	b := append(x.buf[:0], "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"...)
	b = x.appendMessageHead(b)
	b = append(b, `[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = x.appendAnthropicUsage(b, false)
	x.buf = append(b, "}}\n\n"...)
	x.event(x.buf)
	b = append(x.buf[:0], "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":"...)
	b = x.appendCallID(b, "toolu_")
	b = append(b, `,"name":`...)
	b = appendJSONString(b, x.p.toolCall)
	x.buf = append(b, ",\"input\":{}}}\n\n"...)
	x.event(x.buf)
	x.event(pingEvent)
	for _, piece := range toolArgumentPieces {
		b = append(x.buf[:0], "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"...)
		b = appendJSONString(b, piece)
		x.buf = append(b, "}}\n\n"...)
		x.event(x.buf)
	}
	x.event(contentBlockStop)
	t := &x.p.tokens
	b = append(x.buf[:0], "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":"...)
	b = appendInt(b, t.input)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, t.cacheWrite())
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, t.cacheRead)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, t.completion())
	b = x.appendThinkingDetails(b)
	x.buf = append(b, "}}\n\n"...)
	x.event(x.buf)
	x.event(messageStop)
	x.endStream()
}

// geminiTool serves a Gemini functionCall; a stream sends it whole in one
// chunk, as Gemini does.
func (x *exchange) geminiTool() {
	var b []byte
	if x.stream {
		b = x.openGeminiChunk(x.buf[:0])
	} else {
		b = x.buf[:0]
	}
	b = append(b, `{"candidates":[{"content":{"parts":[{"functionCall":{"name":`...)
	b = appendJSONString(b, x.p.toolCall)
	b = append(b, `,"args":`...)
	b = append(b, ToolArguments...)
	b = append(b, `}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":`...)
	t := &x.p.tokens
	b = appendInt(b, t.prompt())
	b = append(b, `,"candidatesTokenCount":`...)
	b = appendInt(b, t.output)
	b = append(b, `,"totalTokenCount":`...)
	b = appendInt(b, t.total())
	if t.cacheRead > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = appendInt(b, t.cacheRead)
	}
	if t.reasoning > 0 {
		b = append(b, `,"thoughtsTokenCount":`...)
		b = appendInt(b, t.reasoning)
	}
	b = append(b, `},"modelVersion":`...)
	b = appendJSONString(b, x.model)
	b = append(b, `,"responseId":"fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	b = append(b, `"}`...)
	if !x.stream {
		x.buf = b
		x.respond(ctJSON, b)
		return
	}
	if x.sse {
		x.beginStream(ctGeminiSSE)
	} else {
		x.beginStream(ctGeminiArray)
	}
	x.buf = x.closeGeminiChunk(b)
	x.event(x.buf)
	x.endGemini()
}

// toolKnobName checks a tool name given by the knob: a function name as
// every format accepts it.
func toolKnobName(v string) bool {
	return v != "" && len(v) <= 64 && !bytes.ContainsFunc([]byte(v), func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}
