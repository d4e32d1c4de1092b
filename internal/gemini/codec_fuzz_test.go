package gemini

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"aether/internal/canon"
)

// FuzzCodec: the codec never panics on any body, and what it writes is
// JSON: a request, an answer or an error decoded and written again, and a
// stream decoded chunk by chunk (one per line) and written again.
func FuzzCodec(f *testing.F) {
	for _, name := range []string{"gemini_request.json", "gemini_response.json", "gemini_error.json", "gemini_stream.sse"} {
		if b, err := os.ReadFile(filepath.Join("..", "translate", "testdata", name)); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "stream.sse")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"},"thoughtSignature":"YWV0aGVyOnI6eA=="}]},{"parts":[{"functionResponse":{"name":"f","response":{"error":"x"},"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := Codec{}
		valid := func(what string, b []byte) {
			if !json.Valid(b) {
				t.Fatalf("%s is not JSON: %s", what, b)
			}
		}
		if r, err := c.DecodeRequest(body); err == nil {
			out, err := c.EncodeRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			valid("request", out)
		} else if ce, ok := err.(*canon.Error); !ok || ce.Status != 400 {
			t.Fatalf("request error %v is not a 400 *canon.Error", err)
		}
		if r, err := c.DecodeResponse(body); err == nil {
			out, err := c.EncodeResponse(r)
			if err != nil {
				t.Fatal(err)
			}
			valid("response", out)
		}
		valid("error", c.EncodeError(c.DecodeError(500, body)))
		d, e := c.NewStreamDecoder(), c.NewStreamEncoder(nil)
		for _, line := range bytes.Split(body, []byte("\n")) {
			evs, err := d.Decode("", bytes.TrimPrefix(line, []byte("data: ")))
			if err != nil {
				return
			}
			for _, ev := range evs {
				for _, s := range e.Encode(ev) {
					valid("stream chunk", s.Data)
				}
			}
		}
		for _, ev := range d.End() {
			for _, s := range e.Encode(ev) {
				valid("stream chunk", s.Data)
			}
		}
	})
}
