package fakeupstream

import (
	"cmp"
	"strconv"
)

// chat serves POST /v1/chat/completions.
func (x *exchange) chat() {
	if !x.stream {
		b := x.appendChatHead(x.buf[:0], "chat.completion")
		b = append(b, `"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendTextJSON(b, x.p.chunks)
		b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":`...)
		b = x.appendChatUsage(b)
		b = append(b, '}')
		x.buf = b
		x.respond(ctJSON, b)
		return
	}

	x.beginStream(ctSSE)
	if x.p.embeddedError {
		b := append(x.buf[:0], `data: {"error":`...)
		status := x.embeddedStatus()
		b = x.appendOpenAIError(b, status, x.p.errorType, x.errorMessage(status))
		x.buf = append(b, "}\n\n"...)
		x.event(x.buf)
		x.endStream()
		return
	}
	// Every chunk repeats the same head; build it once.
	x.pre = x.appendChatHead(append(x.pre[:0], "data: "...), "chat.completion.chunk")
	x.pre = append(x.pre, `"choices":`...)
	tail := "}\n\n"
	if x.includeUsage {
		// With include_usage every chunk carries "usage":null until the
		// usage chunk.
		tail = `,"usage":null}` + "\n\n"
	}

	b := append(x.buf[:0], x.pre...)
	b = append(b, `[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`...)
	x.buf = append(b, tail...)
	x.event(x.buf)
	for i := range x.p.chunks {
		b := append(x.buf[:0], x.pre...)
		b = append(b, `[{"index":0,"delta":{"content":`...)
		b = appendJSONString(b, ChunkText(i))
		b = append(b, `},"logprobs":null,"finish_reason":null}]`...)
		x.buf = append(b, tail...)
		x.event(x.buf)
	}
	b = append(x.buf[:0], x.pre...)
	b = append(b, `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]`...)
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

var doneEvent = []byte("data: [DONE]\n\n")

// appendChatHead appends the fields shared by completions and chunks, up to
// and including the comma before "choices".
func (x *exchange) appendChatHead(b []byte, object string) []byte {
	b = append(b, `{"id":"chatcmpl-fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, x.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, x.model)
	return append(b, `,"service_tier":"default","system_fingerprint":null,`...)
}

func (x *exchange) appendChatUsage(b []byte) []byte {
	t := &x.p.tokens
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, t.prompt())
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, t.completion())
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, t.total())
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, t.cacheRead)
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, t.reasoning)
	return append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// responses serves POST /v1/responses. The stream carries every event and
// field the openai-go accumulators and Codex CLI read: sequence_number on
// each event, item_id/output_index/content_index on item events, and the
// full response with usage on response.completed.
func (x *exchange) responses() {
	if !x.stream {
		x.buf = x.appendResponse(x.buf[:0], "completed")
		x.respond(ctJSON, x.buf)
		return
	}

	x.beginStream(ctSSE)
	seq := 0
	if x.p.embeddedError {
		// The live API nests the error object (openai/openai-dotnet#881),
		// which SDKs surface as a stream error; response.failed follows so
		// clients waiting for a terminal event (Codex) get one.
		status := x.embeddedStatus()
		b := x.responsesEvent(x.buf[:0], "error", &seq)
		b = append(b, `,"error":`...)
		x.buf = append(x.appendOpenAIError(b, status, x.p.errorType, x.errorMessage(status)), "}\n\n"...)
		x.event(x.buf)
		b = x.responsesEvent(x.buf[:0], "response.failed", &seq)
		b = append(b, `,"response":`...)
		x.buf = append(x.appendResponse(b, "failed"), "}\n\n"...)
		x.event(x.buf)
		x.endStream()
		return
	}

	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		b := x.responsesEvent(x.buf[:0], typ, &seq)
		b = append(b, `,"response":`...)
		x.buf = append(x.appendResponse(b, "in_progress"), "}\n\n"...)
		x.event(x.buf)
	}

	b := x.responsesEvent(x.buf[:0], "response.output_item.added", &seq)
	b = append(b, `,"output_index":0,"item":`...)
	x.buf = append(x.appendMessageItem(b, false), "}\n\n"...)
	x.event(x.buf)

	// pre is the addressing shared by the part and text events.
	x.pre = append(x.pre[:0], `,"item_id":"msg_fake`...)
	x.pre = strconv.AppendUint(x.pre, x.id, 10)
	x.pre = append(x.pre, `","output_index":0,"content_index":0`...)

	b = x.responsesEvent(x.buf[:0], "response.content_part.added", &seq)
	b = append(b, x.pre...)
	b = append(b, `,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`...)
	x.buf = append(b, "}\n\n"...)
	x.event(x.buf)

	for i := range x.p.chunks {
		b = x.responsesEvent(x.buf[:0], "response.output_text.delta", &seq)
		b = append(b, x.pre...)
		b = append(b, `,"delta":`...)
		b = appendJSONString(b, ChunkText(i))
		x.buf = append(b, `,"logprobs":[]}`+"\n\n"...)
		x.event(x.buf)
	}

	b = x.responsesEvent(x.buf[:0], "response.output_text.done", &seq)
	b = append(b, x.pre...)
	b = append(b, `,"text":`...)
	b = appendTextJSON(b, x.p.chunks)
	x.buf = append(b, `,"logprobs":[]}`+"\n\n"...)
	x.event(x.buf)

	b = x.responsesEvent(x.buf[:0], "response.content_part.done", &seq)
	b = append(b, x.pre...)
	b = append(b, `,"part":`...)
	x.buf = append(x.appendOutputText(b), "}\n\n"...)
	x.event(x.buf)

	b = x.responsesEvent(x.buf[:0], "response.output_item.done", &seq)
	b = append(b, `,"output_index":0,"item":`...)
	x.buf = append(x.appendMessageItem(b, true), "}\n\n"...)
	x.event(x.buf)

	b = x.responsesEvent(x.buf[:0], "response.completed", &seq)
	b = append(b, `,"response":`...)
	x.buf = append(x.appendResponse(b, "completed"), "}\n\n"...)
	x.event(x.buf)
	x.endStream()
}

// responsesEvent opens a Responses SSE event up to its sequence_number.
func (x *exchange) responsesEvent(b []byte, typ string, seq *int) []byte {
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = appendInt(b, *seq)
	*seq++
	return b
}

// appendResponse appends a Response object; status "completed" carries the
// output and usage, "failed" carries the injected error.
func (x *exchange) appendResponse(b []byte, status string) []byte {
	b = append(b, `{"id":"resp_fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	b = append(b, `","object":"response","created_at":`...)
	b = strconv.AppendInt(b, x.created, 10)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `","background":false,"completed_at":`...)
	if status == "completed" {
		b = strconv.AppendInt(b, x.created, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"error":`...)
	if status == "failed" {
		st := x.embeddedStatus()
		typ, code := openAIErrorType(st)
		if x.p.errorType != "" {
			typ = x.p.errorType
		}
		b = append(b, `{"code":`...)
		b = appendJSONString(b, cmp.Or(code, typ))
		b = append(b, `,"message":`...)
		b = appendJSONString(b, x.errorMessage(st))
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":`...)
	b = appendJSONString(b, x.model)
	b = append(b, `,"output":[`...)
	switch {
	case status == "completed" && x.p.toolCall != "":
		b = x.appendFunctionCallItem(b, true)
	case status == "completed":
		b = x.appendMessageItem(b, true)
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":`...)
	if status == "completed" {
		t := &x.p.tokens
		b = append(b, `{"input_tokens":`...)
		b = appendInt(b, t.prompt())
		b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
		b = appendInt(b, t.cacheRead)
		b = append(b, `},"output_tokens":`...)
		b = appendInt(b, t.completion())
		b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
		b = appendInt(b, t.reasoning)
		b = append(b, `},"total_tokens":`...)
		b = appendInt(b, t.total())
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// appendMessageItem appends the assistant message output item, empty and
// in progress until done.
func (x *exchange) appendMessageItem(b []byte, done bool) []byte {
	b = append(b, `{"id":"msg_fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	if !done {
		return append(b, `","type":"message","status":"in_progress","content":[],"role":"assistant"}`...)
	}
	b = append(b, `","type":"message","status":"completed","content":[`...)
	b = x.appendOutputText(b)
	return append(b, `],"role":"assistant"}`...)
}

func (x *exchange) appendOutputText(b []byte) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = appendTextJSON(b, x.p.chunks)
	return append(b, '}')
}
