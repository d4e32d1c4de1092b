package translate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"aether/internal/canon"
	"aether/internal/sse"
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
	seedFiles(f, "*_stream.sse")
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
		r := sse.NewReader(bytes.NewReader(stream))
		for {
			ev, err := r.Next()
			if err != nil {
				if err == io.EOF {
					check(s.End())
				}
				return
			}
			evs, err := s.Event(ev.Name, ev.Data)
			if err != nil {
				return
			}
			check(evs)
		}
	})
}
