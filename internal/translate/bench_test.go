package translate_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"aether/internal/translate"
)

// BenchmarkAnthropicToChat translates a typical request (system prompt,
// history with images, tool calls and thinking, two tools) and its answer
// (thinking, text, two tool calls, usage): issue 12 allows 50 µs of CPU
// per request at p50. BENCHMARKS.md, "Translation (issue 12)".
func BenchmarkAnthropicToChat(b *testing.B) {
	req, err := os.ReadFile(filepath.Join("testdata", "anthropic_request.json"))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := os.ReadFile(filepath.Join("testdata", "chat_response.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	// ns/op is wall time, inflated when the machine is busy; cpu-ns/op is
	// the process's CPU time (user and system) per translation.
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		if _, _, err := translate.Request(translate.AnthropicMessages, translate.OpenAIChat, req, "gpt-4o"); err != nil {
			b.Fatal(err)
		}
		if _, err := translate.Response(translate.AnthropicMessages, translate.OpenAIChat, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkJSONBaseline decodes and re-encodes the same two bodies with
// encoding/json into `any`: the floor a translation through encoding/json
// cannot beat, to compare with BenchmarkAnthropicToChat on the same
// machine.
func BenchmarkJSONBaseline(b *testing.B) {
	req, _ := os.ReadFile(filepath.Join("testdata", "anthropic_request.json"))
	resp, _ := os.ReadFile(filepath.Join("testdata", "chat_response.json"))
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		for _, body := range [][]byte{req, resp} {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
