package translate_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"aether/internal/translate"
)

// BenchmarkAnthropicToChat is Claude Code on a Chat upstream, one turn
// per op: the request of testdata/bench/claude_code_request.json (11.7 KB:
// system prompt, five tools, a fix-a-bug history of four tool calls and
// their results, thinking) into Chat, and the Chat answer of
// testdata/bench/chat_response.json (1.2 KB: reasoning, text, one tool
// call, usage) back into Anthropic. Issue 12 allows 50 µs of CPU per
// request at p50: p50-cpu-ns. BENCHMARKS.md, "Translation (issue 12)".
func BenchmarkAnthropicToChat(b *testing.B) {
	req := readBench(b, "bench", "claude_code_request.json")
	resp := readBench(b, "bench", "chat_response.json")
	measure(b, len(req)+len(resp), func() {
		if _, _, err := translate.Request(translate.AnthropicMessages, translate.OpenAIChat, req, "deepseek-reasoner"); err != nil {
			b.Fatal(err)
		}
		if _, err := translate.Response(translate.AnthropicMessages, translate.OpenAIChat, resp); err != nil {
			b.Fatal(err)
		}
	})
}

func readBench(b *testing.B, path ...string) []byte {
	b.Helper()
	body, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, path...)...))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// measure runs op b.N times and reports, besides ns/op (wall time, which
// other load on the machine inflates):
//
//   - cpu-ns/op: the process's CPU time (user and system, getrusage) per
//     op, garbage collection on other threads included;
//   - p50-cpu-ns and p99-cpu-ns: the CPU time of one op on its own thread
//     (CLOCK_THREAD_CPUTIME_ID), the median and 99th percentile: issue 12's
//     "CPU per request at p50". Collection done in the background on the
//     other threads is not in it; assists the op is charged are.
func measure(b *testing.B, size int, op func()) {
	b.Helper()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var samples []time.Duration
	start := processCPU()
	for b.Loop() {
		t0 := threadCPU()
		op()
		samples = append(samples, threadCPU()-t0)
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2]), "p50-cpu-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100]), "p99-cpu-ns")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJSONBaseline decodes and re-encodes the same two bodies with
// encoding/json into `any`, to compare with BenchmarkAnthropicToChat on
// the same machine: what reading and writing the bytes once with the
// standard library costs.
func BenchmarkJSONBaseline(b *testing.B) {
	req := readBench(b, "bench", "claude_code_request.json")
	resp := readBench(b, "bench", "chat_response.json")
	measure(b, len(req)+len(resp), func() {
		for _, body := range [][]byte{req, resp} {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
