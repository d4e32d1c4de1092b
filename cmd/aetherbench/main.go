// Command aetherbench measures what the gateway adds on top of an upstream:
// latency of a small non-stream request and time to first byte of a
// stream, each through the gateway and directly against the same
// simulated upstream, sequentially; then throughput and p99 at a given
// concurrency, and the API process's peak RSS. Run it against `make dev`:
//
//	source .dev/env && go run ./cmd/aetherbench
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	gateway := flag.String("gateway", os.Getenv("AETHER_GATEWAY_URL"), "gateway base URL")
	upstream := flag.String("upstream", "http://"+envOr("AETHER_FAKE_LISTEN", "127.0.0.1:9090"), "simulated upstream base URL")
	key := flag.String("key", envOr("AETHER_DEMO_KEY", "sk-aether-dev"), "gateway key")
	n := flag.Int("n", 3000, "sequential requests per latency measurement")
	pace := flag.Duration("pace", 0, "pause between sequential requests (0: back to back)")
	conc := flag.Int("c", 64, "connections for the throughput run (0: skip it)")
	dur := flag.Duration("d", 15*time.Second, "duration of the throughput run")
	pid := flag.Int("pid", 0, "API process ID for peak RSS (default: found with pgrep)")
	rate := flag.Int("accounting-rate", 0, "instead of the latency run: send this many requests/s and measure the accounting lag")
	accDur := flag.Duration("accounting-duration", 60*time.Second, "duration of the accounting run")
	flag.Parse()
	if *gateway == "" {
		fmt.Fprintln(os.Stderr, "aetherbench: set -gateway or source .dev/env")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxIdleConns: *conc * 2, DisableCompression: true}}
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"benchmark"}]}`
	stream := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"benchmark"}]}`
	gw := target{client, *gateway + "/v1/chat/completions", *key}
	up := target{client, *upstream + "/v1/chat/completions", "sim-openai-key-1"}

	if *rate > 0 {
		accounting(gw, body, *rate, *accDur, os.Getenv("AETHER_DATABASE_URL"), os.Getenv("AETHER_TEMPORAL_ADDRESS"))
		return
	}
	if *backlogN > 0 || *backlogDrain > 0 {
		backlog(gw, body, *conc, *pid, os.Getenv("AETHER_DATABASE_URL"), os.Getenv("AETHER_TEMPORAL_ADDRESS"))
		return
	}
	fmt.Printf("aetherbench: %d sequential requests each (pause %s), then %d connections for %s\n\n", *n, *pace, *conc, *dur)
	direct := measure(up, body, *n, false, *pace)
	via := measure(gw, body, *n, false, *pace)
	report("non-stream latency", direct, via)
	direct = measure(up, stream, *n, true, *pace)
	via = measure(gw, stream, *n, true, *pace)
	report("stream time to first byte", direct, via)

	for _, t := range []struct {
		name string
		t    target
	}{{"upstream directly", up}, {"through the gateway", gw}} {
		if *conc == 0 {
			break
		}
		rps, p50, p99, errs := t.t.throughput(body, *conc, *dur)
		fmt.Printf("throughput %-20s %8.0f req/s   p50 %6.2f ms   p99 %6.2f ms   errors %d\n", t.name, rps, ms(p50), ms(p99), errs)
	}
	if *pid == 0 {
		out, _ := exec.Command("pgrep", "-f", "/\\.dev/bin/api$").Output()
		fmt.Sscan(strings.TrimSpace(string(out)), pid)
	}
	if *pid > 0 {
		fmt.Printf("\nAPI process %d: peak RSS %s, current RSS %s\n", *pid, procStatus(*pid, "VmHWM"), procStatus(*pid, "VmRSS"))
	}
}

type target struct {
	c   *http.Client
	url string
	key string
}

// onceID sends one non-stream request and returns its request ID.
func (t target) onceID(body string) (string, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, t.url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Request-ID"), nil
}

// once sends one request and returns the time to the first body byte
// (stream) or to the end of the body (non-stream).
func (t target) once(body string, firstByte bool) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, t.url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := t.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var d time.Duration
	if firstByte {
		br := bufio.NewReader(resp.Body)
		if _, err := br.ReadByte(); err != nil {
			return 0, err
		}
		d = time.Since(start)
		_, _ = io.Copy(io.Discard, br)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		d = time.Since(start)
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return d, nil
}

// measure runs n sequential requests against t (after a warm-up) and
// returns the sorted durations.
func measure(t target, body string, n int, firstByte bool, pace time.Duration) []time.Duration {
	for range 200 {
		_, _ = t.once(body, firstByte)
	}
	out := make([]time.Duration, 0, n)
	for range n {
		d, err := t.once(body, firstByte)
		if err != nil {
			fmt.Fprintln(os.Stderr, "aetherbench:", t.url, err)
			os.Exit(1)
		}
		out = append(out, d)
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(name string, direct, via []time.Duration) {
	fmt.Printf("%s\n  direct   p50 %6.3f ms  p99 %6.3f ms\n  gateway  p50 %6.3f ms  p99 %6.3f ms\n  added    p50 %6.3f ms  p99 %6.3f ms\n\n",
		name, ms(pct(direct, .5)), ms(pct(direct, .99)), ms(pct(via, .5)), ms(pct(via, .99)),
		ms(pct(via, .5)-pct(direct, .5)), ms(pct(via, .99)-pct(direct, .99)))
}

func (t target) throughput(body string, conc int, dur time.Duration) (rps float64, p50, p99 time.Duration, errs int64) {
	var mu sync.Mutex
	var all []time.Duration
	var failed atomic.Int64
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) {
				d, err := t.once(body, false)
				if err != nil {
					failed.Add(1)
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	if len(all) == 0 {
		return 0, 0, 0, failed.Load()
	}
	return float64(len(all)) / elapsed.Seconds(), pct(all, .5), pct(all, .99), failed.Load()
}

func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			return strings.TrimSpace(string(v))
		}
	}
	return "?"
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
