package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aether/internal/testkit/gatewaytest"
)

// discardUpstream reads each request body to the end and answers a small
// Anthropic message, so the memory measured is the gateway's alone.
type discardUpstream struct{}

func (discardUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	body := `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],` +
		`"model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":1}}`
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: int64(len(body)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}, nil
}

// rssBytes reads this process's resident set size from /proc.
func rssBytes(b *testing.B) int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(statm))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkBodyMemory (issue 8, item 20) sends a burst of 8 concurrent
// 30 MB bodies whose model the gateway renames for the upstream, and
// reports the process's RSS and Go heap before, at the peak and after the
// burst. Run with -benchtime 1x; see BENCHMARKS.md.
func BenchmarkBodyMemory(b *testing.B) {
	g := gatewaytest.New(b, gatewaytest.Options{Transport: discardUpstream{}})
	g.Recorder = nil
	content := strings.Repeat("x", 30<<20)
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"` + content + `"}]}`)
	content = ""
	send := func() {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("x-api-key", gatewaytest.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("status %d", resp.StatusCode)
		}
	}
	send() // warm up connections and code paths
	runtime.GC()
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rssBefore, heapBefore := rssBytes(b), ms.HeapInuse
		var peakRSS, peakHeap atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if h := int64(ms.HeapInuse); h > peakHeap.Load() {
					peakHeap.Store(h)
				}
				if r := rssBytes(b); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(send)
		}
		wg.Wait()
		close(stop)
		<-sampled
		rssAfter := rssBytes(b)
		time.Sleep(10 * time.Second) // idle: no forced GC, as in production
		rssIdle := rssBytes(b)
		b.ReportMetric(mb(rssBefore), "rss-before-MB")
		b.ReportMetric(mb(peakRSS.Load()), "rss-peak-MB")
		b.ReportMetric(mb(rssAfter), "rss-after-MB")
		b.ReportMetric(mb(rssIdle), "rss-after-10s-MB")
		b.ReportMetric(mb(int64(heapBefore)), "heap-before-MB")
		b.ReportMetric(mb(peakHeap.Load()), "heap-peak-MB")
	}
}
