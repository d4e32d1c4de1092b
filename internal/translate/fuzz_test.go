package translate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"aether/internal/canon"
	"aether/internal/translate"
)

// directions are the built pairs, by index, so one fuzz input names one.
var directions = translate.Pairs()

func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for i := range directions {
			f.Add(uint8(i), b)
		}
	}
}

// FuzzRequest: a request translation never panics, and what it returns is
// JSON; a failure to read the body is a 400 *canon.Error.
func FuzzRequest(f *testing.F) {
	seedFiles(f, "*_request.json")
	f.Add(uint8(0), []byte(`{"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"image"}]}]}]}`))
	f.Fuzz(func(t *testing.T, dir uint8, body []byte) {
		p := directions[int(dir)%len(directions)]
		out, req, err := translate.Request(p.Client, p.Upstream, body, "")
		if err != nil {
			var ce *canon.Error
			if !errors.As(err, &ce) || ce.Status != 400 {
				t.Fatalf("error %v is not a 400 *canon.Error", err)
			}
			if !json.Valid(translate.ErrorBody(p.Client, ce)) {
				t.Fatal("error body is not JSON")
			}
			return
		}
		if !json.Valid(out) || req == nil {
			t.Fatalf("output is not JSON: %s", out)
		}
	})
}

// FuzzResponse: response and error translations never panic and give JSON.
func FuzzResponse(f *testing.F) {
	seedFiles(f, "*_response.json")
	seedFiles(f, "*_error.json")
	f.Fuzz(func(t *testing.T, dir uint8, body []byte) {
		p := directions[int(dir)%len(directions)]
		if out, err := translate.Response(p.Client, p.Upstream, body); err == nil && !json.Valid(out) {
			t.Fatalf("response is not JSON: %s", out)
		}
		status, out := translate.Error(p.Client, p.Upstream, 500, body)
		if status != 500 || !json.Valid(out) {
			t.Fatalf("error %d is not JSON: %s", status, out)
		}
	})
}

// FuzzStream: a stream translation never panics and every event it writes
// is JSON (or Chat's [DONE]).
func FuzzStream(f *testing.F) {
	// The fixtures are cut into seeds of a few events each: the fuzzing
	// engine stalls on seeds of several kilobytes.
	files, _ := filepath.Glob(filepath.Join("testdata", "*_stream.sse"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		events := bytes.SplitAfter(b, []byte("\n\n"))
		for i := 0; i < len(events); i += 4 {
			seed := bytes.Join(events[i:min(i+4, len(events))], nil)
			for d := range directions {
				f.Add(uint8(d), seed)
			}
		}
	}
	f.Add(uint8(1), []byte("event: content_block_delta\ndata: {\"index\":7,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, dir uint8, stream []byte) {
		p := directions[int(dir)%len(directions)]
		s := translate.NewStream(p.Client, p.Upstream, &canon.Request{StreamUsage: dir&0x80 != 0})
		check := func(evs []canon.SSE) {
			for _, ev := range evs {
				if !json.Valid(ev.Data) && !bytes.Equal(ev.Data, []byte("[DONE]")) {
					t.Fatalf("event %q is not JSON: %s", ev.Name, ev.Data)
				}
			}
		}
		for _, ev := range splitEvents(stream) {
			evs, err := s.Event(ev.Name, ev.Data)
			if err != nil {
				return
			}
			check(evs)
		}
		check(s.End())
	})
}

// splitEvents cuts a fuzz input into SSE events: blank-line separated,
// an optional "event: " line, the rest after "data: " as data.
func splitEvents(b []byte) []canon.SSE {
	var out []canon.SSE
	for _, block := range bytes.Split(b, []byte("\n\n")) {
		var ev canon.SSE
		for _, line := range bytes.Split(block, []byte("\n")) {
			if name, ok := bytes.CutPrefix(line, []byte("event: ")); ok {
				ev.Name = string(name)
			} else if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				ev.Data = data
			}
		}
		out = append(out, ev)
	}
	return out
}
