package fakeupstream

import "strconv"

// messages serves POST /v1/messages.
func (x *exchange) messages() {
	if !x.stream {
		b := x.appendMessageHead(x.buf[:0])
		b = append(b, `[{"type":"text","text":`...)
		b = appendTextJSON(b, x.p.chunks)
		b = append(b, `}],"stop_reason":"end_turn","stop_sequence":null,"usage":`...)
		b = x.appendAnthropicUsage(b, true)
		x.buf = append(b, '}')
		x.respond(ctJSON, x.buf)
		return
	}

	x.beginStream(ctSSE)
	if x.p.embeddedError {
		status := x.embeddedStatus()
		b := append(x.buf[:0], "event: error\ndata: "...)
		b = x.appendErrorObject(b, status, x.p.errorType, x.errorMessage(status))
		x.buf = append(b, "\n\n"...)
		x.event(x.buf)
		x.endStream()
		return
	}

	// message_start reports output_tokens 1, as the live API does; the
	// real count arrives in message_delta.
	b := append(x.buf[:0], "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"...)
	b = x.appendMessageHead(b)
	b = append(b, `[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = x.appendAnthropicUsage(b, false)
	x.buf = append(b, "}}\n\n"...)
	x.event(x.buf)
	x.event(contentBlockStart)
	x.event(pingEvent)
	for i := range x.p.chunks {
		b = append(x.buf[:0], "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"...)
		b = appendJSONString(b, ChunkText(i))
		x.buf = append(b, "}}\n\n"...)
		x.event(x.buf)
	}
	x.event(contentBlockStop)

	// message_delta usage counts are cumulative totals for the message,
	// input and cache counts included (not increments to add).
	t := &x.p.tokens
	b = append(x.buf[:0], "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":"...)
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

var (
	contentBlockStart = []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	pingEvent         = []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n")
	contentBlockStop  = []byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	messageStop       = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
)

// appendMessageHead appends a Message object up to its content value.
func (x *exchange) appendMessageHead(b []byte) []byte {
	b = append(b, `{"id":"msg_fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, x.model)
	return append(b, `,"content":`...)
}

// appendAnthropicUsage appends a Usage object: input_tokens excludes cache
// reads and writes, cache_creation_input_tokens is the sum of the 5m and 1h
// writes broken down in cache_creation. Before the final count (in
// message_start) output_tokens is 1.
func (x *exchange) appendAnthropicUsage(b []byte, final bool) []byte {
	output := 1
	if final {
		output = x.p.tokens.completion()
	}
	t := &x.p.tokens
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, t.input)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, t.cacheWrite())
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, t.cacheRead)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = appendInt(b, t.write5m)
	b = append(b, `,"ephemeral_1h_input_tokens":`...)
	b = appendInt(b, t.write1h)
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, output)
	if final {
		b = x.appendThinkingDetails(b)
	}
	return append(b, `,"service_tier":"standard"}`...)
}

// appendThinkingDetails appends output_tokens_details when there were
// reasoning tokens; like the live API it is absent otherwise.
func (x *exchange) appendThinkingDetails(b []byte) []byte {
	if x.p.tokens.reasoning == 0 {
		return b
	}
	b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
	b = appendInt(b, x.p.tokens.reasoning)
	return append(b, '}')
}
