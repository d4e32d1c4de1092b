package fakeupstream

// appendStreamError appends the in-stream error event that
// StreamErrorAfter puts in place of a stream's event, framed like the
// stream's other events.
func (x *exchange) appendStreamError(b []byte) []byte {
	status := x.embeddedStatus()
	switch x.ep {
	case epMessages:
		b = append(b, "event: error\ndata: "...)
		b = x.appendErrorObject(b, status, x.p.errorType, x.errorMessage(status))
		return append(b, "\n\n"...)
	case epResponses:
		// A response that fails while generating ends in response.failed,
		// whose response has status "failed" and an error object.
		seq := x.events // one sequence number per event so far
		b = x.responsesEvent(b, "response.failed", &seq)
		b = append(b, `,"response":`...)
		return append(x.appendResponse(b, "failed"), "}\n\n"...)
	case epGeminiStream:
		b = x.openGeminiChunk(b)
		b = x.appendErrorObject(b, status, x.p.errorType, x.errorMessage(status))
		return x.closeGeminiChunk(b)
	default: // Chat Completions
		b = append(b, "data: "...)
		b = x.appendErrorObject(b, status, x.p.errorType, x.errorMessage(status))
		return append(b, "\n\n"...)
	}
}
