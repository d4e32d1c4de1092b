package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"aether/internal/anthropic"
	"aether/internal/gemini"
	"aether/internal/jsonscan"
	"aether/internal/llm"
	"aether/internal/openai"
)

var dialects = []llm.Dialect{openai.Dialect{}, anthropic.Dialect{}, gemini.Dialect{}}

// scan feeds body to a scanner in pieces cut at random points.
func scan(name string, body []byte, r *rand.Rand) ([]byte, bool) {
	s := jsonscan.New(name, 64<<10)
	for len(body) > 0 {
		n := 1 + r.IntN(len(body))
		if r.IntN(3) == 0 {
			n = 1
		}
		if w, err := s.Write(body[:n]); w != n || err != nil {
			panic("Write did not consume its input")
		}
		body = body[n:]
	}
	return s.Result()
}

// check asserts that the scanner's result decodes as the whole body does:
// for each dialect's BodyUsage, and for a generic decode that shows
// validity and how duplicate members merge.
func check(t *testing.T, body []byte, r *rand.Rand) {
	t.Helper()
	for _, d := range dialects {
		doc, ok := scan(d.UsageMember(), body, r)
		if ok != json.Valid(body) {
			t.Fatalf("%s: valid = %v, encoding/json says %v, for %q", d.Format(), ok, json.Valid(body), body)
		}
		if !ok {
			doc = nil // the proxy reads no usage from an invalid body
		}
		if got, want := d.BodyUsage(doc), d.BodyUsage(body); got != want {
			t.Fatalf("%s: usage %+v from %q, want %+v from the whole body %q", d.Format(), got, doc, want, body)
		}
	}
	for _, name := range []string{"usage", "usageMetadata"} {
		doc, ok := scan(name, body, r)
		if !ok {
			continue
		}
		full, part := reflect.New(memberType(name)), reflect.New(memberType(name))
		errFull, errPart := json.Unmarshal(body, full.Interface()), json.Unmarshal(doc, part.Interface())
		if (errFull == nil) != (errPart == nil) || !reflect.DeepEqual(full.Interface(), part.Interface()) {
			t.Fatalf("%s: %q decodes to %+v (%v), the whole body %q to %+v (%v)", name, doc, part, errPart, body, full, errFull)
		}
	}
}

// memberType is a struct with one map field named name: maps merge across
// duplicate keys, so it shows whether every duplicate was kept in order.
func memberType(name string) reflect.Type {
	return reflect.StructOf([]reflect.StructField{{
		Name: "M", Type: reflect.TypeFor[map[string]any](), Tag: reflect.StructTag(`json:"` + name + `"`),
	}})
}

func TestExamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{
		``, ` `, `{}`, `[]`, `null`, `1`, `-0.5e+3`, `"x"`, `{"usage":null}`, `{"usage":1}`, `{"usage":"x"}`,
		`{"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
		`{"a":[1,{"usage":{"prompt_tokens":9}}],"usage":{"prompt_tokens":3}}`,
		`{"usage":{"prompt_tokens":3},"usage":{"completion_tokens":4}}`,
		`{"usage":{"prompt_tokens":3},"usage":null}`,
		`{"USAGE":{"input_tokens":5},"Usage":{"output_tokens":6}}`,
		`{"u\u0073age":{"input_tokens":5}}`,
		`{"uſage":{"input_tokens":5}}`,
		`{"usage":{"prompt_tokens":"3"}}`,
		`{"usage":{"prompt_tokens":3}} x`,
		`{"usage":{"prompt_tokens":3}`,
		`{"usage":{"prompt_tokens":01}}`,
		`{"usage":{"prompt_tokens":1.}}`,
		`{"usage":{"prompt_tokens":1e}}`,
		`{"s":"a` + "\x01" + `b","usage":{"prompt_tokens":3}}`,
		`{"s":"\x","usage":{"prompt_tokens":3}}`,
		`{"s":"\u12G4","usage":{"prompt_tokens":3}}`,
		`{"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2},"candidates":[]}`,
		`{"usageMetadata":{"promptTokenCount":4},"usagemetadata":{"thoughtsTokenCount":2}}`,
		`{"usage":{"input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":2}},"usage":{"cache_creation_input_tokens":2}}`,
		`{"a":tru}`, `{"a":nul,"usage":1}`, `{"a" 1}`, `{,}`, `[1,]`, `{"a":1,}`, `"\ud800"`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"usage":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		`{"usage":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	}
	for _, c := range cases {
		for range 5 {
			check(t, []byte(c), r)
		}
	}
}

// TestRandomDocuments compares the scanner with the whole-body parse on
// generated documents and on corrupted and truncated copies of them.
func TestRandomDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var b bytes.Buffer
		genObject(&b, r, 0, true)
		body := b.Bytes()
		check(t, body, r)
		mutated := bytes.Clone(body)
		for range 1 + r.IntN(3) {
			switch i := r.IntN(len(mutated)); r.IntN(3) {
			case 0:
				mutated[i] = "{}[],:\"\\0-e.1 \x00tu"[r.IntN(17)]
			case 1:
				mutated = append(mutated[:i], mutated[i+1:]...)
			default:
				mutated = mutated[:i]
			}
			if len(mutated) == 0 {
				break
			}
		}
		check(t, mutated, r)
	}
}

var keys = []string{"usage", "usageMetadata", "Usage", "USAGE", "usagemetadata", "us\\u0061ge", "usage\\u0000", "other", "choices", "prompt_tokens",
	"completion_tokens", "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation",
	"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "prompt_tokens_details", "cached_tokens", "promptTokenCount",
	"candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount", "x\\\"y"}

func genObject(b *bytes.Buffer, r *rand.Rand, depth int, top bool) {
	b.WriteByte('{')
	n := r.IntN(5)
	if top {
		n++
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		space(b, r)
		fmt.Fprintf(b, `"%s"`, keys[r.IntN(len(keys))])
		space(b, r)
		b.WriteByte(':')
		space(b, r)
		genValue(b, r, depth+1)
		space(b, r)
	}
	b.WriteByte('}')
}

func genValue(b *bytes.Buffer, r *rand.Rand, depth int) {
	k := r.IntN(10)
	if depth > 4 {
		k = 3 + r.IntN(7)
	}
	switch k {
	case 0, 1:
		genObject(b, r, depth, false)
	case 2:
		b.WriteByte('[')
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			space(b, r)
			genValue(b, r, depth+1)
		}
		b.WriteByte(']')
	case 3, 4, 5:
		b.WriteString([]string{"0", "7", "-3", "12.5", "1e3", "2E-2", "99999999999999999999", "-0", "4.0"}[r.IntN(9)])
	case 6:
		b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
	default:
		b.WriteString([]string{`""`, `"text"`, `"a\"b\\c\/d\n"`, `"\u00e9\u2713"`, `"wörld ✓"`, `"{\"usage\":1}"`}[r.IntN(6)])
	}
}

func space(b *bytes.Buffer, r *rand.Rand) {
	if r.IntN(4) == 0 {
		b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[r.IntN(4)])
	}
}

// FuzzScanner compares the scanner with the whole-body parse on any input.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":1}}}`,
		`{"content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":2},"output_tokens":3}}`,
		`{"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":1}}`,
		`{"usage":{"prompt_tokens":3},"USAGE":{"completion_tokens":4}}`,
		`[1,"a",{"b":null}]`,
	} {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, seed uint64) {
		check(t, body, rand.New(rand.NewPCG(seed, seed)))
	})
}

// TestLimit: kept members beyond the limit give no result rather than a
// partial one.
func TestLimit(t *testing.T) {
	s := jsonscan.New("usage", 16)
	_, _ = s.Write([]byte(`{"usage":{"prompt_tokens":12345678901}}`))
	if doc, ok := s.Result(); ok {
		t.Fatalf("result %q past the limit", doc)
	}
}

// BenchmarkScan scans a 20 MiB answer, mostly one long string, with the
// usage member last.
func BenchmarkScan(b *testing.B) {
	body := []byte(`{"choices":[{"message":{"content":"` + strings.Repeat(`0123456789 \"abcde\"`, 20<<20/20) +
		`"}}],"usage":{"prompt_tokens":35,"completion_tokens":11}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := jsonscan.New("usage", 64<<10)
		for chunk := range slices.Chunk(body, 32<<10) {
			_, _ = s.Write(chunk)
		}
		if _, ok := s.Result(); !ok {
			b.Fatal("invalid")
		}
	}
}
