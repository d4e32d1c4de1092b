package sse

import (
	"bufio"
	"errors"
	"io"
)

// ArrayReader splits a streamed JSON array (Gemini's streamGenerateContent
// without alt=sse) into its elements, keeping the exact bytes like Reader.
// Each Event has Data set to one element; Raw also holds the separators
// before it ("[", ",", whitespace). The closing "]" comes as a final event
// with no Data.
type ArrayReader struct {
	br  *bufio.Reader
	raw []byte
	// state
	started bool
}

// NewArrayReader returns an ArrayReader on r.
func NewArrayReader(r io.Reader) *ArrayReader {
	return &ArrayReader{br: bufio.NewReaderSize(r, 32<<10)}
}

// ErrNotArray is returned when the stream does not start with '['.
var ErrNotArray = errors.New("sse: stream is not a JSON array")

// Next returns the next element, with the same end-of-stream conventions as
// Reader.Next.
func (a *ArrayReader) Next() (Event, error) {
	a.raw = a.raw[:0]
	// Skip separators up to the start of an element or the closing bracket.
	for {
		b, err := a.br.ReadByte()
		if err != nil {
			if len(a.raw) > 0 {
				return Event{Raw: a.raw}, io.EOF
			}
			return Event{}, err
		}
		a.raw = append(a.raw, b)
		switch b {
		case ' ', '\t', '\r', '\n', ',':
			continue
		case '[':
			if !a.started {
				a.started = true
				continue
			}
		case ']':
			return Event{Raw: a.raw}, nil
		}
		if !a.started {
			return Event{Raw: a.raw}, ErrNotArray
		}
		break
	}
	start := len(a.raw) - 1
	depth, inString, escaped := 0, false, false
	first := a.raw[start]
	if first == '{' || first == '[' {
		depth = 1
	} else if first == '"' {
		inString = true
	}
	for depth > 0 || inString {
		b, err := a.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Event{Data: a.raw[start:], Raw: a.raw}, err
		}
		a.raw = append(a.raw, b)
		if len(a.raw) > MaxEventBytes {
			return Event{}, ErrEventTooLarge
		}
		switch {
		case escaped:
			escaped = false
		case inString:
			if b == '\\' {
				escaped = true
			} else if b == '"' {
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
		case b == '}' || b == ']':
			depth--
		}
	}
	return Event{Data: a.raw[start:], Raw: a.raw}, nil
}
