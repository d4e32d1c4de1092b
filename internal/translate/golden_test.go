package translate_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"aether/internal/canon"
	"aether/internal/sse"
	"aether/internal/translate"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// created is the one field that depends on the clock.
var created = regexp.MustCompile(`"created":\s*\d+`)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = created.ReplaceAll(got, []byte(`"created":0`))
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// translateStream runs an upstream .sse fixture through a Stream and
// writes the client's events as SSE text.
func translateStream(t *testing.T, client, upstream translate.API, req *canon.Request, fixture []byte) []byte {
	t.Helper()
	s := translate.NewStream(client, upstream, req)
	r := sse.NewReader(bytes.NewReader(fixture))
	var out bytes.Buffer
	write := func(evs []canon.SSE) {
		for _, ev := range evs {
			if !json.Valid(ev.Data) && string(ev.Data) != "[DONE]" {
				t.Errorf("event %q data is not JSON: %s", ev.Name, ev.Data)
			}
			if ev.Name != "" {
				fmt.Fprintf(&out, "event: %s\n", ev.Name)
			}
			fmt.Fprintf(&out, "data: %s\n\n", ev.Data)
		}
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Data) == 0 {
			continue
		}
		evs, err := s.Event(ev.Name, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		write(evs)
	}
	write(s.End())
	return out.Bytes()
}

// goldenSuite is one API's golden tests against the others, both ways:
// requests, answers, streams and errors, each case a fixture translated
// from upstream to client and compared with its golden file.
type goldenSuite struct {
	requests  []goldenRequest
	responses []goldenResponse
	streams   []goldenStream
	errors    []goldenError
}

type (
	goldenRequest struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
		model            string
	}
	goldenResponse struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
	}
	goldenStream struct {
		name             string
		client, upstream translate.API
		req              *canon.Request
		fixture, golden  string
	}
	goldenError struct {
		name             string
		client, upstream translate.API
		status           int
		fixture, golden  string
	}
)

// run checks every case with check, golden or one that first masks more
// fields that depend on the clock.
func (g goldenSuite) run(t *testing.T, check func(t *testing.T, name string, got []byte)) {
	for _, c := range g.requests {
		t.Run("request "+c.name, func(t *testing.T) {
			out, _, err := translate.Request(c.client, c.upstream, readFile(t, c.fixture), c.model)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c.golden, indent(t, out))
		})
	}
	for _, c := range g.responses {
		t.Run("response "+c.name, func(t *testing.T) {
			out, err := translate.Response(c.client, c.upstream, readFile(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			check(t, c.golden, indent(t, out))
		})
	}
	for _, c := range g.streams {
		t.Run("stream "+c.name, func(t *testing.T) {
			check(t, c.golden, translateStream(t, c.client, c.upstream, c.req, readFile(t, c.fixture)))
		})
	}
	for _, c := range g.errors {
		t.Run("error "+c.name, func(t *testing.T) {
			status, out := translate.Error(c.client, c.upstream, c.status, readFile(t, c.fixture))
			if status != c.status {
				t.Errorf("status %d, want %d", status, c.status)
			}
			check(t, c.golden, indent(t, out))
		})
	}
}

// TestGolden covers Chat against Anthropic Messages, both ways: requests,
// answers, streams and errors.
func TestGolden(t *testing.T) {
	goldenSuite{
		requests: []goldenRequest{
			{"anthropic to chat", translate.AnthropicMessages, translate.OpenAIChat, "anthropic_request.json", "anthropic_request.chat.json", "deepseek-reasoner"},
			{"chat to anthropic", translate.OpenAIChat, translate.AnthropicMessages, "chat_request.json", "chat_request.anthropic.json", ""},
		},
		responses: []goldenResponse{
			{"chat to anthropic", translate.AnthropicMessages, translate.OpenAIChat, "chat_response.json", "chat_response.anthropic.json"},
			{"anthropic to chat", translate.OpenAIChat, translate.AnthropicMessages, "anthropic_response.json", "anthropic_response.chat.json"},
		},
		streams: []goldenStream{
			{"chat to anthropic", translate.AnthropicMessages, translate.OpenAIChat, &canon.Request{Stream: true}, "chat_stream.sse", "chat_stream.anthropic.sse"},
			{"anthropic to chat", translate.OpenAIChat, translate.AnthropicMessages, &canon.Request{Stream: true, StreamUsage: true}, "anthropic_stream.sse", "anthropic_stream.chat.sse"},
			{"anthropic to chat without include_usage", translate.OpenAIChat, translate.AnthropicMessages, &canon.Request{Stream: true}, "anthropic_stream.sse", "anthropic_stream.chat_no_usage.sse"},
		},
		errors: []goldenError{
			{"anthropic 529 to chat", translate.OpenAIChat, translate.AnthropicMessages, 529, "anthropic_error.json", "anthropic_error.chat.json"},
			{"chat 429 to anthropic", translate.AnthropicMessages, translate.OpenAIChat, 429, "chat_error.json", "chat_error.anthropic.json"},
		},
	}.run(t, golden)
}
