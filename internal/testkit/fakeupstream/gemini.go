package fakeupstream

import "strconv"

// gemini serves models/{model}:generateContent and :streamGenerateContent.
// With ?alt=sse a stream is "data: {json}\r\n\r\n" events; without it the
// same chunks form one JSON array written incrementally. The last chunk
// alone carries finishReason and usageMetadata.
func (x *exchange) gemini() {
	if !x.stream {
		x.buf = x.appendGeminiResponse(x.buf[:0], -1)
		x.respond(ctJSON, x.buf)
		return
	}

	if x.sse {
		x.beginStream(ctGeminiSSE)
	} else {
		x.beginStream(ctGeminiArray)
	}
	if x.p.embeddedError {
		status := x.embeddedStatus()
		b := x.openGeminiChunk(x.buf[:0])
		b = x.appendErrorObject(b, status, x.p.errorType, x.errorMessage(status))
		x.buf = x.closeGeminiChunk(b)
		x.event(x.buf)
		x.endGemini()
		return
	}
	// A response with no text still sends one (empty) final chunk.
	n := max(x.p.chunks, 1)
	for i := range n {
		b := x.openGeminiChunk(x.buf[:0])
		b = x.appendGeminiResponse(b, i)
		x.buf = x.closeGeminiChunk(b)
		x.event(x.buf)
	}
	x.endGemini()
}

func (x *exchange) openGeminiChunk(b []byte) []byte {
	switch {
	case x.sse:
		return append(b, "data: "...)
	case x.events == 0:
		return append(b, '[')
	default:
		return append(b, ',')
	}
}

func (x *exchange) closeGeminiChunk(b []byte) []byte {
	if x.sse {
		return append(b, "\r\n\r\n"...)
	}
	return append(b, '\n')
}

func (x *exchange) endGemini() {
	if !x.sse {
		_, _ = x.out.Write(closeBracket)
	}
	x.endStream()
}

var closeBracket = []byte("]")

// appendGeminiResponse appends a GenerateContentResponse holding chunk i,
// or the whole text when i is -1. promptTokenCount includes
// cachedContentTokenCount; thoughtsTokenCount is not part of
// candidatesTokenCount. Zero counts are omitted, as the live API does.
func (x *exchange) appendGeminiResponse(b []byte, i int) []byte {
	final := i < 0 || i >= x.p.chunks-1
	b = append(b, `{"candidates":[{"content":{"parts":[{"text":`...)
	switch {
	case i < 0:
		b = appendTextJSON(b, x.p.chunks)
	case i < x.p.chunks:
		b = appendJSONString(b, ChunkText(i))
	default:
		b = append(b, `""`...)
	}
	b = append(b, `}],"role":"model"}`...)
	if final {
		b = append(b, `,"finishReason":"STOP"`...)
	}
	b = append(b, `,"index":0}]`...)
	if final {
		t := &x.p.tokens
		b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
		b = appendInt(b, t.prompt())
		b = append(b, `,"candidatesTokenCount":`...)
		b = appendInt(b, t.output)
		b = append(b, `,"totalTokenCount":`...)
		b = appendInt(b, t.total())
		if t.cacheRead > 0 {
			b = append(b, `,"cachedContentTokenCount":`...)
			b = appendInt(b, t.cacheRead)
		}
		b = append(b, `,"promptTokensDetails":[{"modality":"TEXT","tokenCount":`...)
		b = appendInt(b, t.prompt())
		b = append(b, `}]`...)
		if t.reasoning > 0 {
			b = append(b, `,"thoughtsTokenCount":`...)
			b = appendInt(b, t.reasoning)
		}
		b = append(b, '}')
	}
	b = append(b, `,"modelVersion":`...)
	b = appendJSONString(b, x.model)
	b = append(b, `,"responseId":"fake`...)
	b = strconv.AppendUint(b, x.id, 10)
	return append(b, `"}`...)
}
