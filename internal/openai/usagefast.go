package openai

import (
	"strings"
)

// The usage of every non-stream answer is read from the small document
// jsonscan keeps ({"usage":{...}}). encoding/json's reflection was about 4 %
// of the gateway's CPU per request (issue 11 §5), so the common shape is
// read here by hand. Anything unusual (a null, a float, a string where a
// count goes, a key that differs from a field's name only in case or is
// escaped, a repeated "usage") is left to encoding/json, so the result is
// always the one json.Unmarshal gives; FuzzBodyUsageFast checks that.

// fastUsage decodes doc as BodyUsage's json.Unmarshal would; ok is false
// when doc is not in the shape it reads, and the caller must use
// encoding/json.
func fastUsage(doc []byte) (u usageJSON, present, ok bool) {
	p := parser{b: doc}
	if !p.byte('{') {
		return u, false, false
	}
	if p.peek('}') {
		p.i++
		return u, false, p.end()
	}
	key, ok := p.key()
	if !ok || string(key) != "usage" {
		return u, false, false
	}
	if !p.usage(&u) || !p.byte('}') || !p.end() {
		return u, false, false
	}
	return u, true, true
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// byte consumes c after optional whitespace.
func (p *parser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) peek(c byte) bool {
	p.space()
	return p.i < len(p.b) && p.b[p.i] == c
}

func (p *parser) end() bool {
	p.space()
	return p.i == len(p.b)
}

// key reads `"name":`; names with escapes or non-ASCII bytes are refused.
func (p *parser) key() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' {
		if c := p.b[p.i]; c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
		p.i++
	}
	if p.i == len(p.b) {
		return nil, false
	}
	k := p.b[start:p.i]
	p.i++
	return k, p.byte(':')
}

// int reads a JSON integer that fits int64; anything else is refused.
func (p *parser) int() (int64, bool) {
	p.space()
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		d := int64(p.b[p.i] - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false // overflow: encoding/json reports it
		}
		n = n*10 + d
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 1 && p.b[start] == '0' {
		return 0, false
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// skip passes over one value of an unknown member: a number, a string, true
// or false. Objects, arrays and null are refused.
func (p *parser) skip() bool {
	p.space()
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		p.i++
		for p.i < len(p.b) {
			switch c := p.b[p.i]; {
			case c == '"':
				p.i++
				return true
			case c == '\\' || c < 0x20:
				return false
			}
			p.i++
		}
		return false
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't' && len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "true":
		p.i += 4
		return true
	case c == 'f' && len(p.b)-p.i >= 5 && string(p.b[p.i:p.i+5]) == "false":
		p.i += 5
		return true
	}
	return false
}

// number passes over a JSON number, checking its grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() bool {
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	start := p.i
	if n := digits(); n == 0 || n > 1 && p.b[start] == '0' {
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// next moves to the next member of an object: it consumes the '{' or ','
// before it and returns its key, or done at the closing '}'.
func (p *parser) next(first bool) (key []byte, done, ok bool) {
	if first {
		if !p.byte('{') {
			return nil, false, false
		}
		if p.peek('}') {
			p.i++
			return nil, true, true
		}
	} else if !p.byte(',') {
		return nil, true, p.byte('}')
	}
	key, ok = p.key()
	return key, false, ok
}

// unknown handles a member no field is named after: skipped, unless its
// name matches a field's but for case, which encoding/json would decode.
func (p *parser) unknown(k []byte, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(string(k), n) {
			return false
		}
	}
	return p.skip()
}

var usageNames = []string{"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
	"prompt_tokens_details", "input_tokens_details", "completion_tokens_details", "output_tokens_details"}

type cached = struct {
	CachedTokens int64 `json:"cached_tokens"`
}

type reasoning = struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// usage reads the usage object, its '{' included.
func (p *parser) usage(u *usageJSON) bool {
	for first := true; ; first = false {
		k, done, ok := p.next(first)
		if !ok || done {
			return ok
		}
		switch string(k) {
		case "prompt_tokens":
			u.PromptTokens, ok = p.int()
		case "completion_tokens":
			u.CompletionTokens, ok = p.int()
		case "input_tokens":
			u.InputTokens, ok = p.int()
		case "output_tokens":
			u.OutputTokens, ok = p.int()
		case "prompt_tokens_details":
			if u.PromptTokensDetails == nil {
				u.PromptTokensDetails = &cached{}
			}
			ok = p.detail(&u.PromptTokensDetails.CachedTokens, "cached_tokens")
		case "input_tokens_details":
			if u.InputTokensDetails == nil {
				u.InputTokensDetails = &cached{}
			}
			ok = p.detail(&u.InputTokensDetails.CachedTokens, "cached_tokens")
		case "completion_tokens_details":
			if u.CompletionTokensDetails == nil {
				u.CompletionTokensDetails = &reasoning{}
			}
			ok = p.detail(&u.CompletionTokensDetails.ReasoningTokens, "reasoning_tokens")
		case "output_tokens_details":
			if u.OutputTokensDetails == nil {
				u.OutputTokensDetails = &reasoning{}
			}
			ok = p.detail(&u.OutputTokensDetails.ReasoningTokens, "reasoning_tokens")
		default:
			ok = p.unknown(k, usageNames...)
		}
		if !ok {
			return false
		}
	}
}

// detail reads a *_details object with one counted field, name. A repeated
// object decodes into the same struct, as encoding/json does.
func (p *parser) detail(dst *int64, name string) bool {
	for first := true; ; first = false {
		k, done, ok := p.next(first)
		if !ok || done {
			return ok
		}
		if string(k) == name {
			*dst, ok = p.int()
		} else {
			ok = p.unknown(k, name)
		}
		if !ok {
			return false
		}
	}
}
