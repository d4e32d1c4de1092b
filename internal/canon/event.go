package canon

import "aether/internal/llm"

// EventType names a stream event. A whole stream is: one EventStart; per
// content block an EventBlockStart, any number of EventDelta and an
// EventBlockStop; one EventMessageDelta (stop reason, final usage); one
// EventStop. EventError may come at any point and ends the stream.
type EventType string

// The stream event types.
const (
	EventStart        EventType = "start"
	EventBlockStart   EventType = "block_start"
	EventDelta        EventType = "delta"
	EventBlockStop    EventType = "block_stop"
	EventMessageDelta EventType = "message_delta"
	EventStop         EventType = "stop"
	EventError        EventType = "error"
)

// DeltaType names what a delta adds to its block.
type DeltaType string

// The delta types.
const (
	DeltaText      DeltaType = "text"      // text block
	DeltaThinking  DeltaType = "thinking"  // thinking block's text
	DeltaSignature DeltaType = "signature" // thinking block's signature
	DeltaArguments DeltaType = "arguments" // tool call's arguments, a piece of JSON text
)

// Event is one canonical stream event. Which fields are set depends on
// Type:
//
//   - start: ID, Model, Usage (the input side when known, else nil).
//   - block_start: Index, Block (Type; ID and Name for a tool call; Data
//     for redacted thinking; Text, Signature or Arguments when the format
//     starts a block with content).
//   - delta: Index, Delta, Text.
//   - block_stop: Index.
//   - message_delta: StopReason, StopSequence, Usage (cumulative, nil when
//     the upstream reported none).
//   - error: Error.
//
// Index counts the message's content blocks from 0 in the order they
// start; blocks may interleave (parallel tool calls).
type Event struct {
	Type         EventType  `json:"type"`
	ID           string     `json:"id,omitempty"`
	Model        string     `json:"model,omitempty"`
	Index        int        `json:"index"`
	Block        *Block     `json:"block,omitempty"`
	Delta        DeltaType  `json:"delta,omitempty"`
	Text         string     `json:"text,omitempty"`
	StopReason   StopReason `json:"stop_reason,omitempty"`
	StopSequence string     `json:"stop_sequence,omitempty"`
	Usage        *llm.Usage `json:"usage,omitempty"`
	Error        *Error     `json:"error,omitempty"`
}

// SSE is one server-sent event a stream encoder writes: Name is the
// "event:" field (empty for formats without one), Data the "data:" line.
type SSE struct {
	Name string
	Data []byte
}

// StreamDecoder turns one upstream SSE event into canonical events. It
// keeps the state a format needs (open blocks, the stop reason waiting for
// usage).
type StreamDecoder interface {
	// Decode takes one event's name and data. Events that carry nothing
	// (pings, comments) give none. A malformed event is an error; the
	// caller ends the stream.
	Decode(name string, data []byte) ([]Event, error)
	// End is called when the upstream closed the stream cleanly. It gives
	// the events that finish a stream whose format allows a close as its
	// end (a Chat stream after its finish_reason without [DONE]); nil when
	// the stream already ended or was cut before its end.
	End() []Event
}

// StreamEncoder turns canonical events into the client's SSE events, so
// the client sees its own format's complete sequence.
type StreamEncoder interface {
	Encode(Event) []SSE
}
