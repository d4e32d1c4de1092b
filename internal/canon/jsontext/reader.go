// Package jsontext reads and writes JSON text for the codecs' hot paths
// (issue 12: translation within 50 µs of CPU per request at p50).
// encoding/json scans a body several times byte by byte (validation,
// decoding, raw members decoded again); Reader scans it once, Append*
// write what json.Marshal would write, byte for byte.
//
// Reader is strict on purpose: anything it does not handle exactly as
// encoding/json does (a \u escape, invalid UTF-8, a key that differs only
// in case from a known one, a type mismatch) makes it fail, and the codec
// then decodes the body with encoding/json, so results and error messages
// never differ.
package jsontext

import (
	"encoding/json"
	"iter"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// Reader reads one JSON value from a byte slice. Its zero value reads
// nothing; Reset gives it a body. After a failure every method returns
// zero values and Failed reports true.
type Reader struct {
	b     []byte
	i     int
	depth int // objects and arrays open
	bad   bool
}

// Reset starts reading b.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Fail marks the input as one the caller must decode with encoding/json.
func (r *Reader) Fail() { r.bad = true }

// Failed reports whether reading failed.
func (r *Reader) Failed() bool { return r.bad }

// End reports whether the value was read without failure and only white
// space follows it.
func (r *Reader) End() bool {
	r.space()
	return !r.bad && r.i == len(r.b)
}

func (r *Reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Peek gives the first byte of the next value, or 0.
func (r *Reader) Peek() byte {
	r.space()
	if r.bad || r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *Reader) expect(c byte) bool {
	r.space()
	if r.bad || r.i >= len(r.b) || r.b[r.i] != c {
		r.bad = true
		return false
	}
	r.i++
	return true
}

// Object iterates over an object's keys; the loop body must read or skip
// each member's value. A key with an escape fails. The key aliases the
// input.
func (r *Reader) Object() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if !r.expect('{') || !r.enter() {
			return
		}
		defer r.leave()
		if r.Peek() == '}' {
			r.i++
			return
		}
		for !r.bad {
			key, ok := r.plainString()
			if !ok || !r.expect(':') {
				r.bad = true
				return
			}
			if !yield(key) || r.bad {
				return
			}
			switch r.Peek() {
			case ',':
				r.i++
			case '}':
				r.i++
				return
			default:
				r.bad = true
			}
		}
	}
}

// Array iterates over an array's elements; the loop body must read or
// skip each one.
func (r *Reader) Array() iter.Seq[int] {
	return func(yield func(int) bool) {
		if !r.expect('[') || !r.enter() {
			return
		}
		defer r.leave()
		if r.Peek() == ']' {
			r.i++
			return
		}
		for n := 0; !r.bad; n++ {
			if !yield(n) || r.bad {
				return
			}
			switch r.Peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return
			default:
				r.bad = true
			}
		}
	}
}

// enter counts an object or array opened; nesting as deep as
// encoding/json's limit fails, whichever member it is in.
func (r *Reader) enter() bool {
	r.depth++
	if r.depth >= maxDepth {
		r.bad = true
	}
	return !r.bad
}

func (r *Reader) leave() { r.depth-- }

// SkipUnknown skips the value of a key the caller does not know. A key
// encoding/json could match case-insensitively with a known one (upper
// case, or bytes outside ASCII) fails instead.
func (r *Reader) SkipUnknown(key []byte) {
	for _, c := range key {
		if c >= 0x80 || 'A' <= c && c <= 'Z' {
			r.bad = true
			return
		}
	}
	r.Skip()
}

// plainString reads a string without escapes, control bytes or bytes
// outside ASCII, aliasing the input (keys).
func (r *Reader) plainString() ([]byte, bool) {
	if !r.expect('"') {
		return nil, false
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if !stringStop[c] || c >= 0x80 {
			r.i++
			continue
		}
		switch {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], true
		case c == '\\' || c < 0x20:
			r.bad = true
			return nil, false
		}
		r.i++
	}
	r.bad = true
	return nil, false
}

// String reads a string. Escapes other than \u are decoded here; a \u
// escape or invalid UTF-8 is decoded by encoding/json, which replaces bad
// sequences as it always does.
func (r *Reader) String() string {
	if !r.expect('"') {
		return ""
	}
	start := r.i
	escapes, high := false, false
	for {
		for r.i < len(r.b) && !stringStop[r.b[r.i]] {
			r.i++
		}
		if r.i >= len(r.b) {
			r.bad = true
			return ""
		}
		c := r.b[r.i]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			escapes = true
			r.i += 2
			continue
		case c < 0x20:
			r.bad = true
			return ""
		case c >= 0x80:
			high = true
		}
		r.i++
	}
	raw := r.b[start:r.i]
	r.i++
	if !escapes {
		if high && !utf8.Valid(raw) {
			return r.slowString(start - 1)
		}
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		j++
		if j >= len(raw) {
			r.bad = true
			return ""
		}
		switch raw[j] {
		case '"', '\\', '/':
			out = append(out, raw[j])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			return r.slowString(start - 1)
		default:
			r.bad = true
			return ""
		}
	}
	if high && !utf8.Valid(out) {
		return r.slowString(start - 1)
	}
	if len(out) == 0 {
		return ""
	}
	// out is this string's own buffer, never written again: no copy.
	return unsafe.String(&out[0], len(out))
}

// slowString decodes the string starting at the quote at from with
// encoding/json.
func (r *Reader) slowString(from int) string {
	var s string
	if err := json.Unmarshal(r.b[from:r.i], &s); err != nil {
		r.bad = true
		return ""
	}
	return s
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	switch r.Peek() {
	case 't':
		return r.literal("true")
	case 'f':
		r.literal("false")
		return false
	}
	r.bad = true
	return false
}

func (r *Reader) literal(lit string) bool {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		r.bad = true
		return false
	}
	r.i += len(lit)
	return true
}

// number scans a number's text by JSON's grammar.
func (r *Reader) number() []byte {
	r.space()
	start, b := r.i, r.b
	i := r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		r.bad = true
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.bad = true
			return nil
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.bad = true
			return nil
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	r.i = i
	return b[start:i]
}

// Int64 reads an integer as encoding/json does into an int64 (a fraction
// or exponent fails).
func (r *Reader) Int64() int64 {
	n := r.number()
	if r.bad {
		return 0
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		r.bad = true
	}
	return v
}

// Float64 reads a number into a float64.
func (r *Reader) Float64() float64 {
	n := r.number()
	if r.bad {
		return 0
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		r.bad = true
	}
	return v
}

// Raw reads any value, checking it is valid JSON, and returns its text
// (aliasing the input), as json.RawMessage keeps it.
func (r *Reader) Raw() []byte {
	r.space()
	start := r.i
	r.Skip()
	if r.bad {
		return nil
	}
	return r.b[start:r.i]
}

// Skip reads any value, checking it is valid JSON.
func (r *Reader) Skip() {
	switch r.Peek() {
	case '{':
		for range r.Object() {
			r.Skip()
		}
	case '[':
		for range r.Array() {
			r.Skip()
		}
	case '"':
		r.skipString()
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		r.number()
	}
}

// skipString checks a string without decoding it: escapes must be
// valid; any bytes outside ASCII are allowed, as in encoding/json.
func (r *Reader) skipString() {
	r.i++ // the quote Peek saw
	for r.i < len(r.b) {
		c := r.b[r.i]
		if !stringStop[c] || c >= 0x80 {
			r.i++
			continue
		}
		switch {
		case c == '"':
			r.i++
			return
		case c < 0x20:
			r.bad = true
			return
		case c == '\\':
			if r.i+1 >= len(r.b) {
				r.bad = true
				return
			}
			switch r.b[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if r.i+6 > len(r.b) {
					r.bad = true
					return
				}
				for _, h := range r.b[r.i+2 : r.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						r.bad = true
						return
					}
				}
				r.i += 6
			default:
				r.bad = true
				return
			}
			continue
		}
		r.i++
	}
	r.bad = true
}

// IsNull reports whether the next value is null, without reading it.
func (r *Reader) IsNull() bool {
	return r.Peek() == 'n'
}

// stringStop marks the bytes a string scan stops at: the closing quote,
// an escape, control bytes (invalid) and bytes outside ASCII (UTF-8 to
// check).
var stringStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()
