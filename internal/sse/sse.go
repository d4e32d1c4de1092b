// Package sse reads Server-Sent Events as they arrive, keeping each event's
// exact bytes so the gateway relays streams untouched while it inspects
// them for errors and usage.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEventBytes bounds one event; a larger one is an upstream fault, not
// something to buffer without limit.
const MaxEventBytes = 16 << 20

// ErrEventTooLarge is returned for an event above MaxEventBytes.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one SSE event.
type Event struct {
	// Name is the `event:` field, empty when absent.
	Name string
	// Data is the `data:` lines joined by "\n" (a view into Raw's
	// backing buffer: valid until the next call to Next).
	Data []byte
	// Raw is the event exactly as received, including its terminating
	// blank line, so relaying Raw reproduces the upstream byte for byte.
	Raw []byte
}

// Reader splits a stream into events. Lines end in "\n" or "\r\n"
// (Gemini separates events with "\r\n\r\n"); a lone "\r" is not treated
// as a line end, a simplification no LLM provider's stream needs.
type Reader struct {
	br   *bufio.Reader
	raw  []byte
	data []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 8<<10)}
}

// Next returns the next event. Comment-only blocks (keep-alives) are
// returned as events with no name and no data so they can be relayed at
// once. At the end of the stream Next returns io.EOF; if the stream ends in
// the middle of an event, that partial event is returned with
// io.ErrUnexpectedEOF so callers can still inspect it.
func (r *Reader) Next() (Event, error) {
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	var name []byte
	lines := 0
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if lines == 0 {
				if errors.Is(err, io.EOF) && len(r.raw) > 0 {
					return Event{Raw: r.raw}, io.EOF
				}
				return Event{}, err
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return r.event(name), err
		}
		content := trimEOL(line)
		if len(content) == 0 {
			if lines == 0 {
				continue // stray blank line: stays in Raw of the next event
			}
			return r.event(name), nil
		}
		lines++
		if content[0] == ':' {
			continue // comment
		}
		field, value, _ := bytes.Cut(content, []byte{':'})
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			name = append(name[:0], value...)
		}
	}
}

func (r *Reader) event(name []byte) Event {
	return Event{Name: string(name), Data: r.data, Raw: r.raw}
}

// readLine appends one line, terminator included, to r.raw and returns it.
// A final line without a terminator is returned with a nil error; the
// following call returns io.EOF.
func (r *Reader) readLine() ([]byte, error) {
	start := len(r.raw)
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.raw = append(r.raw, chunk...)
		if len(r.raw) > MaxEventBytes {
			return nil, ErrEventTooLarge
		}
		switch {
		case err == nil:
			return r.raw[start:], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case len(r.raw) > start:
			return r.raw[start:], nil
		default:
			return nil, err
		}
	}
}

func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}
