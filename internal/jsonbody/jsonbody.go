// Package jsonbody reads and edits the top level of a JSON request body
// without re-encoding it, so every field the gateway does not own (unknown
// ones included, docs/wire-formats.md) reaches the upstream byte for byte.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrNotObject is returned for input that is not one valid JSON object.
var ErrNotObject = errors.New("request body is not a JSON object")

// Field is one top-level member: the key (unescaped) and the value's byte
// span in the body.
type Field struct {
	Key        string
	Start, End int
}

// Object is a parsed view of a body's top level.
type Object struct {
	Body   []byte
	Fields []Field
}

// Parse validates body as a JSON object and indexes its top-level members.
func Parse(body []byte) (*Object, error) {
	if !json.Valid(body) {
		return nil, ErrNotObject
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, ErrNotObject
	}
	o := &Object{Body: body}
	i = skipSpace(body, i+1)
	if body[i] == '}' {
		return o, nil
	}
	for {
		keyEnd := skipString(body, i)
		var key string
		if err := json.Unmarshal(body[i:keyEnd], &key); err != nil {
			return nil, ErrNotObject
		}
		i = skipSpace(body, keyEnd)
		i = skipSpace(body, i+1) // ':'
		end := skipValue(body, i)
		o.Fields = append(o.Fields, Field{Key: key, Start: i, End: end})
		i = skipSpace(body, end)
		if body[i] == '}' {
			return o, nil
		}
		i = skipSpace(body, i+1) // ','
	}
}

// Raw returns the value of key (the last one if repeated, as encoding/json
// would decode it), or nil.
func (o *Object) Raw(key string) []byte {
	for i := len(o.Fields) - 1; i >= 0; i-- {
		if o.Fields[i].Key == key {
			return o.Body[o.Fields[i].Start:o.Fields[i].End]
		}
	}
	return nil
}

// String returns the string value of key; ok is false if key is absent or
// not a string.
func (o *Object) String(key string) (string, bool) {
	raw := o.Raw(key)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Bool returns the boolean value of key, false when absent or not a bool.
func (o *Object) Bool(key string) bool {
	return string(o.Raw(key)) == "true"
}

// Set returns a new body with key's value replaced by value (raw JSON), or
// with the member appended when key is absent. Every occurrence of a
// repeated key is replaced. The receiver is not modified.
func (o *Object) Set(key string, value []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(o.Body) + len(key) + len(value) + 4)
	last := 0
	found := false
	for _, f := range o.Fields {
		if f.Key != key {
			continue
		}
		out.Write(o.Body[last:f.Start])
		out.Write(value)
		last = f.End
		found = true
	}
	if found {
		out.Write(o.Body[last:])
		return out.Bytes()
	}
	end := bytes.LastIndexByte(o.Body, '}')
	out.Write(o.Body[:end])
	if len(o.Fields) > 0 {
		out.WriteByte(',')
	}
	out.Write(Quote(key))
	out.WriteByte(':')
	out.Write(value)
	out.Write(o.Body[end:])
	return out.Bytes()
}

// Edit is Set that changes o itself: it writes into the spare capacity of
// o.Body when the result fits, so a large body is never copied to rename
// its model, and keeps Fields in step. It overwrites the bytes of o.Body,
// so it is only for a body nobody else holds; Clone first otherwise.
func (o *Object) Edit(key string, value []byte) {
	found := false
	for i := len(o.Fields) - 1; i >= 0; i-- { // back to front: earlier offsets stay valid
		if f := &o.Fields[i]; f.Key == key {
			o.splice(f.Start, f.End, value)
			f.End = f.Start + len(value)
			found = true
		}
	}
	if found {
		return
	}
	end := bytes.LastIndexByte(o.Body, '}')
	member := make([]byte, 0, len(key)+len(value)+4)
	if len(o.Fields) > 0 {
		member = append(member, ',')
	}
	member = append(member, Quote(key)...)
	member = append(member, ':')
	start := end + len(member)
	member = append(member, value...)
	o.splice(end, end, member)
	o.Fields = append(o.Fields, Field{Key: key, Start: start, End: start + len(value)})
}

// splice replaces o.Body[start:end] with ins, in place when the capacity
// allows, and shifts the fields that follow.
func (o *Object) splice(start, end int, ins []byte) {
	old := o.Body
	n := len(old) + len(ins) - (end - start)
	if n <= cap(old) {
		b := old[:cap(old)]
		copy(b[start+len(ins):], old[end:]) // copy moves overlapping bytes correctly
		copy(b[start:], ins)
		o.Body = b[:n]
	} else {
		b := make([]byte, n)
		copy(b, old[:start])
		copy(b[start:], ins)
		copy(b[start+len(ins):], old[end:])
		o.Body = b
	}
	for i := range o.Fields {
		if o.Fields[i].Start >= end { // values are never empty, so not the one replaced
			o.Fields[i].Start += n - len(old)
			o.Fields[i].End += n - len(old)
		}
	}
}

// Clone returns a copy of o with extra bytes of spare capacity for Edit.
func (o *Object) Clone(extra int) *Object {
	b := make([]byte, len(o.Body), len(o.Body)+extra)
	copy(b, o.Body)
	return &Object{Body: b, Fields: append([]Field(nil), o.Fields...)}
}

// Quote encodes s as a JSON string.
func Quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the (valid) value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}
