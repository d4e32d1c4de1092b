package llm

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// StreamObserver inspects a response stream event by event. It is created
// per request and used by one goroutine.
type StreamObserver interface {
	// Observe looks at one event (SSE event, or one element of a JSON-array
	// stream) and reports whether it should be relayed to the client.
	Observe(name string, data []byte) (forward bool)
	// IsError reports whether an event is an error object (an upstream that
	// answers 200 and then reports failure in its first event).
	IsError(name string, data []byte) bool
	// Usage is the usage seen so far.
	Usage() Usage
	// Complete reports whether the stream's terminal event was seen: the
	// answer is whole, whatever happens to the connection afterwards.
	Complete() bool
	// Failed reports whether the upstream reported an error inside the
	// stream after its first event (docs/wire-formats.md lists each
	// format's error events).
	Failed() bool
}

// Dialect is what the proxy needs to know of one API format.
type Dialect interface {
	Format() Format
	// SetAuth puts a provider key in the header this API uses.
	SetAuth(h http.Header, key string)
	// NewStream returns an observer for one streamed response.
	// injectedUsage is true when the gateway asked the upstream for a usage
	// event the client did not request, which the observer then withholds.
	NewStream(injectedUsage bool) StreamObserver
	// BodyUsage extracts usage from a whole non-stream response body.
	BodyUsage(body []byte) Usage
	// UsageMember names the top-level member of a non-stream body that
	// holds its usage: BodyUsage reads nothing else, so a body holding
	// only that member gives the same usage (the proxy keeps no more of a
	// large body).
	UsageMember() string
	// WriteError writes a gateway error in this API's error shape, with
	// the kind's status (ErrorKind.Status).
	WriteError(w http.ResponseWriter, kind ErrorKind, message string)
}

// HasErrorObject reports whether a JSON event's top level carries a
// non-null "error" member: how OpenAI and Gemini report a failure inside a
// 200 stream. Events that merely mention the word are not decoded.
func HasErrorObject(data []byte) bool {
	if !bytes.Contains(data, []byte(`"error"`)) {
		return false
	}
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	return json.Unmarshal(data, &v) == nil && len(v.Error) > 0 && string(v.Error) != "null"
}
