// Package jsonscan checks a JSON document written to it in pieces and keeps
// only the top-level members of one name, so the usage of a non-stream
// response of any size can be read in constant memory while the body is
// relayed (the usage member comes last in every API format the gateway
// speaks, docs/wire-formats.md).
//
// The result is built to decode exactly as the whole body would with
// encoding/json into a struct holding only that member: the same syntax
// rules (nesting depth included), the same case-insensitive key match, and
// every matching member kept in order, so duplicates merge as they would.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
)

// maxDepth is encoding/json's nesting limit: a deeper document is invalid.
const maxDepth = 10000

// maxKey bounds the raw bytes kept of one top-level key; a longer key
// cannot spell the member name (each character of it is at most a
// twelve-byte surrogate-pair escape).
const maxKey = 1024

type state uint8

const (
	stStart      state = iota // before the document's value
	stValue                   // a value must follow (after ':' or ',' in an array)
	stValueOrEnd              // after '[': a value or ']'
	stKeyOrEnd                // after '{': a key or '}'
	stKey                     // after ',' in an object: a key
	stColon                   // after a key
	stAfter                   // after a value inside a container: ',' or the closing bracket
	stString                  // inside a string
	stEscape                  // after a backslash in a string
	stHex                     // inside a \uXXXX escape; hex counts the digits left
	stMinus                   // after a number's '-'
	stZero                    // a number's integer part is 0
	stInt                     // in a number's integer digits
	stDot                     // after the decimal point
	stFrac                    // in the fraction digits
	stExp                     // after 'e' or 'E'
	stExpSign                 // after the exponent's sign
	stExpDigits               // in the exponent digits
	stLiteral                 // in true, false or null
	stDone                    // after the document's value: whitespace only
	stError
)

// Scanner is an io.Writer that checks the JSON written to it and keeps the
// top-level members named Name. Write never fails, so it can sit behind an
// io.TeeReader without ever stopping the copy.
type Scanner struct {
	name  string
	limit int

	st      state
	stack   []byte // '{' or '[' per open container
	hex     int
	literal string // the bytes still expected of a literal
	inKey   bool   // the string being read is a key
	first   byte   // the document value's first byte

	key       []byte // raw bytes of the current top-level key
	keyLong   bool
	matched   bool // the current top-level key names the member
	capturing bool // inside a kept member's value
	overflow  bool // the kept members exceed limit
	kept      []byte

	// Room for the usual stack, key and kept member, so a small body
	// costs no allocation beyond the Scanner.
	stackArr [16]byte
	keyArr   [32]byte
	keptArr  [512]byte
}

// New returns a Scanner keeping the top-level members matching name, up to
// limit bytes in all.
func New(name string, limit int) *Scanner {
	s := &Scanner{name: name, limit: limit}
	s.stack, s.key, s.kept = s.stackArr[:0], s.keyArr[:0], s.keptArr[:0]
	return s
}

// Result returns a JSON object holding the kept members in the order they
// came, and true; or false when the document is not valid JSON, is
// incomplete, or the kept members exceed the limit. A valid document that
// is not an object gives "null" or "[]", which decode into a struct as it
// would.
func (s *Scanner) Result() ([]byte, bool) {
	switch s.st {
	case stZero, stInt, stFrac, stExpDigits:
		if len(s.stack) == 0 {
			s.st = stDone // a bare number ends with the document
		}
	}
	if s.st != stDone || s.overflow {
		return nil, false
	}
	switch {
	case s.first == 'n':
		return []byte("null"), true
	case s.first != '{':
		return []byte("[]"), true // decodes into a struct with the same error as any non-object
	case len(s.kept) == 0:
		return []byte("{}"), true
	}
	return append(s.kept, '}'), true
}

// stringByte flags the bytes that end the fast path through a string: the
// quote, the backslash and the control characters JSON forbids there.
var stringByte = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Write implements io.Writer; it always consumes all of p.
func (s *Scanner) Write(p []byte) (int, error) {
	capStart := 0 // where the kept value's bytes start in p
	i := 0
	for i < len(p) && s.st != stError {
		c := p[i]
		switch s.st {
		case stString:
			j := i
			for j < len(p) && !stringByte[p[j]] {
				j++
			}
			s.keyBytes(p[i:j])
			if j == len(p) {
				i = j
				continue
			}
			c = p[j]
			i = j + 1
			switch {
			case c == '"':
				s.keyBytes(p[j:i])
				if s.inKey {
					s.endKey()
					s.st = stColon
				} else if s.endValue() {
					s.keep(p[capStart:i])
				}
			case c == '\\':
				s.keyBytes(p[j:i])
				s.st = stEscape
			default:
				s.st = stError // a control character
			}
			continue
		case stEscape:
			switch c {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.st = stString
			case 'u':
				s.st, s.hex = stHex, 4
			default:
				s.st = stError
			}
			s.keyBytes(p[i : i+1])
			i++
			continue
		case stHex:
			if !isHex(c) {
				s.st = stError
				continue
			}
			if s.hex--; s.hex == 0 {
				s.st = stString
			}
			s.keyBytes(p[i : i+1])
			i++
			continue
		case stMinus, stZero, stInt, stDot, stFrac, stExp, stExpSign, stExpDigits:
			if s.number(c) {
				i++
				continue
			}
			// The number ended before c, which is read again as what
			// follows the value.
			if s.endValue() {
				s.keep(p[capStart:i])
			}
			continue
		case stLiteral:
			if c != s.literal[0] {
				s.st = stError
				continue
			}
			i++
			if s.literal = s.literal[1:]; s.literal == "" && s.endValue() {
				s.keep(p[capStart:i])
			}
			continue
		}
		// Structural states: whitespace is skipped everywhere.
		if isSpace(c) {
			i++
			continue
		}
		switch s.st {
		case stStart, stValue, stValueOrEnd:
			if s.st == stValueOrEnd && c == ']' {
				i++
				if s.close() {
					s.keep(p[capStart:i])
				}
				continue
			}
			if s.st == stValue && len(s.stack) == 1 && s.matched {
				s.startKeep()
				capStart = i
			}
			if s.st == stStart {
				s.first = c
			}
			s.startValue(c)
		case stKeyOrEnd, stKey:
			switch {
			case c == '"':
				s.st, s.inKey = stString, true
				if len(s.stack) == 1 {
					s.key, s.keyLong = append(s.key[:0], c), false
				}
			case c == '}' && s.st == stKeyOrEnd:
				if s.close() {
					s.keep(p[capStart : i+1])
				}
			default:
				s.st = stError
			}
		case stColon:
			if c == ':' {
				s.st = stValue
			} else {
				s.st = stError
			}
		case stAfter:
			top := s.stack[len(s.stack)-1]
			switch {
			case c == ',' && top == '{':
				s.st = stKey
			case c == ',':
				s.st = stValue
			case c == '}' && top == '{' || c == ']' && top == '[':
				if s.close() {
					s.keep(p[capStart : i+1])
				}
			default:
				s.st = stError
			}
		case stDone:
			s.st = stError // data after the document's value
		}
		i++
	}
	if s.capturing {
		s.keep(p[capStart:])
	}
	return len(p), nil
}

// startValue begins the value whose first byte is c.
func (s *Scanner) startValue(c byte) {
	switch {
	case c == '{' || c == '[':
		if len(s.stack) == maxDepth {
			s.st = stError
			return
		}
		s.stack = append(s.stack, c)
		s.st = stKeyOrEnd
		if c == '[' {
			s.st = stValueOrEnd
		}
	case c == '"':
		s.st, s.inKey = stString, false
	case c == '-':
		s.st = stMinus
	case c == '0':
		s.st = stZero
	case '1' <= c && c <= '9':
		s.st = stInt
	case c == 't':
		s.st, s.literal = stLiteral, "rue"
	case c == 'f':
		s.st, s.literal = stLiteral, "alse"
	case c == 'n':
		s.st, s.literal = stLiteral, "ull"
	default:
		s.st = stError
	}
}

// number advances a number by c, reporting false when c is not part of it
// (the number ends there, if it may).
func (s *Scanner) number(c byte) bool {
	digit := '0' <= c && c <= '9'
	switch s.st {
	case stMinus:
		switch {
		case c == '0':
			s.st = stZero
		case digit:
			s.st = stInt
		default:
			s.st = stError
		}
		return true
	case stInt:
		if digit {
			return true
		}
		fallthrough
	case stZero:
		switch c {
		case '.':
			s.st = stDot
			return true
		case 'e', 'E':
			s.st = stExp
			return true
		}
		return false
	case stDot:
		s.st = stFrac
		if !digit {
			s.st = stError
		}
		return true
	case stFrac:
		if digit {
			return true
		}
		if c == 'e' || c == 'E' {
			s.st = stExp
			return true
		}
		return false
	case stExp:
		switch {
		case c == '+' || c == '-':
			s.st = stExpSign
		case digit:
			s.st = stExpDigits
		default:
			s.st = stError
		}
		return true
	case stExpSign:
		s.st = stExpDigits
		if !digit {
			s.st = stError
		}
		return true
	default: // stExpDigits
		return digit
	}
}

// endValue moves past a finished value and reports whether it was a kept
// member's value, whose last byte has just been read.
func (s *Scanner) endValue() bool {
	if len(s.stack) == 0 {
		s.st = stDone
		return false
	}
	s.st = stAfter
	if s.capturing && len(s.stack) == 1 {
		s.capturing = false
		return true
	}
	return false
}

// close pops the innermost container, then ends it as a value.
func (s *Scanner) close() bool {
	s.stack = s.stack[:len(s.stack)-1]
	return s.endValue()
}

// keyBytes collects the raw bytes of a top-level key as they are read.
func (s *Scanner) keyBytes(b []byte) {
	if !s.inKey || len(s.stack) != 1 || s.keyLong {
		return
	}
	if len(s.key)+len(b) > maxKey {
		s.keyLong = true
		return
	}
	s.key = append(s.key, b...)
}

// endKey decides whether the key just read names the kept member, matching
// it the way encoding/json matches a key to a struct field: after
// unescaping, and case-insensitively (simple Unicode folding, as
// strings.EqualFold).
func (s *Scanner) endKey() {
	s.inKey = false
	if len(s.stack) != 1 {
		return
	}
	s.matched = false
	if s.keyLong {
		return
	}
	raw := s.key[1 : len(s.key)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		s.matched = strings.EqualFold(string(raw), s.name)
		return
	}
	var k string
	s.matched = json.Unmarshal(s.key, &k) == nil && strings.EqualFold(k, s.name)
}

// startKeep opens a kept member: its key goes into the result, and the
// value's bytes follow as they are read.
func (s *Scanner) startKeep() {
	s.matched, s.capturing = false, true
	if s.overflow {
		return
	}
	if len(s.kept) == 0 {
		s.kept = append(s.kept, '{')
	} else {
		s.kept = append(s.kept, ',')
	}
	s.kept = append(append(s.kept, s.key...), ':')
}

// keep appends bytes of a kept value, up to the limit.
func (s *Scanner) keep(b []byte) {
	if s.overflow {
		return
	}
	if len(s.kept)+len(b) > s.limit {
		s.overflow = true
		return
	}
	s.kept = append(s.kept, b...)
}
