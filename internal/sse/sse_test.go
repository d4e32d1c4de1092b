package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string) ([]Event, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []Event
	for {
		ev, err := r.Next()
		if len(ev.Raw) > 0 {
			ev.Raw = bytes.Clone(ev.Raw)
			ev.Data = bytes.Clone(ev.Data)
			out = append(out, ev)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		names []string
		data  []string
		err   error
	}{
		{"openai", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{"", ""}, []string{`{"a":1}`, "[DONE]"}, nil},
		{"anthropic", "event: message_start\ndata: {\"x\":1}\n\nevent: ping\ndata: {}\n\n", []string{"message_start", "ping"}, []string{`{"x":1}`, "{}"}, nil},
		{"gemini crlf", "data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\n\r\n", []string{"", ""}, []string{`{"a":1}`, `{"b":2}`}, nil},
		{"multi-line data", "data: a\ndata: b\n\n", []string{""}, []string{"a\nb"}, nil},
		{"no space after colon", "data:x\n\n", []string{""}, []string{"x"}, nil},
		{"keep-alive comment", ": ping\n\ndata: x\n\n", []string{"", ""}, []string{"", "x"}, nil},
		{"cut mid-event", "data: {\"a\":1}\n\ndata: {\"b\"", []string{"", ""}, []string{`{"a":1}`, `{"b"`}, io.ErrUnexpectedEOF},
		{"leading blank lines", "\n\ndata: x\n\n", []string{""}, []string{"x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := readAll(t, tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(evs) != len(tt.data) {
				t.Fatalf("got %d events, want %d: %q", len(evs), len(tt.data), evs)
			}
			var raw bytes.Buffer
			for i, ev := range evs {
				if ev.Name != tt.names[i] || string(ev.Data) != tt.data[i] {
					t.Errorf("event %d = (%q, %q), want (%q, %q)", i, ev.Name, ev.Data, tt.names[i], tt.data[i])
				}
				raw.Write(ev.Raw)
			}
			if raw.String() != tt.in {
				t.Errorf("relayed bytes differ:\n got %q\nwant %q", raw.String(), tt.in)
			}
		})
	}
}

// FuzzReader checks that relaying Raw reproduces any input exactly and
// that the reader never panics.
func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: x\r\ndata: y\r\n\r\n"))
	f.Add([]byte(": c\n\n\n\ndata"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		var out bytes.Buffer
		for {
			ev, err := r.Next()
			out.Write(ev.Raw)
			if err != nil {
				break
			}
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("relayed %q, input %q", out.Bytes(), in)
		}
	})
}

func TestArrayReader(t *testing.T) {
	in := "[{\"a\":\"x]}\\\"\"}\n,\r\n{\"b\":[1,{\"c\":2}]}\n]"
	r := NewArrayReader(strings.NewReader(in))
	var data []string
	var raw bytes.Buffer
	for {
		ev, err := r.Next()
		raw.Write(ev.Raw)
		if ev.Data != nil {
			data = append(data, string(ev.Data))
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	want := []string{`{"a":"x]}\""}`, `{"b":[1,{"c":2}]}`}
	if len(data) != 2 || data[0] != want[0] || data[1] != want[1] {
		t.Fatalf("elements %q, want %q", data, want)
	}
	if raw.String() != in {
		t.Fatalf("relayed %q, want %q", raw.String(), in)
	}
}

func FuzzArrayReader(f *testing.F) {
	f.Add([]byte(`[{"a":1},{"b":"]"}]`))
	f.Add([]byte("[\n{\"x\":[\"\\\"\"]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewArrayReader(bytes.NewReader(in))
		var out bytes.Buffer
		for range len(in) + 2 {
			ev, err := r.Next()
			out.Write(ev.Raw)
			if err != nil {
				if errors.Is(err, ErrEventTooLarge) {
					return
				}
				break
			}
		}
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("relayed %q is not a prefix of input %q", out.Bytes(), in)
		}
	})
}
