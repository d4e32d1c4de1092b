package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"aether/internal/accounting"
	"aether/internal/config"
	"aether/internal/testkit/gatewaytest"
)

// fullDisk is a filesystem for the journal whose writes fail with ENOSPC
// while full is set, as on a volume that filled up.
type fullDisk struct{ full atomic.Bool }

type fullDiskFile struct {
	*os.File
	d *fullDisk
}

func (d *fullDisk) open(name string, flag int, perm os.FileMode) (accounting.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &fullDiskFile{File: f, d: d}, nil
}

func (f *fullDiskFile) Write(b []byte) (int, error) {
	if f.d.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(b)
}

// journalSend makes one request and returns its status and body.
func journalSend(t *testing.T, g *gatewaytest.Gateway, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// journalMetric reads one unlabelled value from /metrics.
func journalMetric(t *testing.T, g *gatewaytest.Gateway, name string) float64 {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s not in /metrics", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func journalWait(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJournalDiskFull: the journal's disk fills while a stream is in
// flight. Fail-closed, the very next request is refused with 503 (its start
// could not be made durable, so it must not be served; the upstream call
// made while the start was written is abandoned), and so is a burst of
// concurrent ones, with no upstream call and no hang; fail-open serves
// them. The stream that was accepted before finishes, its end waits in
// memory (shown by aether_journal_unwritten_events), and once space is
// back requests are served again and every accepted request is recorded.
func TestJournalDiskFull(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d := &fullDisk{}
			g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{}, JournalFile: d.open,
				Config: func(c *config.Config) { c.AccountingMode = mode }})
			const chat = `{"model":"gpt-4o-mini","messages":[]}`
			if code, body := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer()); code != 200 {
				t.Fatalf("before: %d %s", code, body)
			}
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
			req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
			req.Header.Set("X-Fake-Chunks", "10")
			req.Header.Set("X-Fake-Chunk-Interval", "100ms")
			stream, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Body.Close()
			br := bufio.NewReader(stream.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}

			d.full.Store(true)
			upstreamCalls := g.Fake.Count()
			code, body := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer())
			switch mode {
			case "closed":
				// The disk's failure is found by this request's own start,
				// written while its upstream call goes out: one upstream
				// call at most, its answer withheld.
				if code != 503 || g.Fake.Count() > upstreamCalls+1 {
					t.Fatalf("first request on a full disk: %d %s (upstream calls %d -> %d); want 503 and one upstream call at most", code, body, upstreamCalls, g.Fake.Count())
				}
				errorShape(t, "openai", 503, []byte(body))
			case "open":
				if code != 200 {
					t.Fatalf("fail-open on a full disk: %d %s", code, body)
				}
			}
			var wg sync.WaitGroup
			var served, refused atomic.Int64
			start := time.Now()
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch code, body := journalSend(t, g, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}`, map[string]string{"x-api-key": gatewaytest.Key}); code {
					case 200:
						served.Add(1)
					case 503:
						refused.Add(1)
					default:
						t.Errorf("burst on a full disk: %d %s", code, body)
					}
				}()
			}
			wg.Wait()
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("20 requests on a full disk took %s", d)
			}
			if want := map[string]int64{"closed": 0, "open": 20}[mode]; served.Load() != want {
				t.Fatalf("%s: %d of 20 served on a full disk, want %d", mode, served.Load(), want)
			}
			rest, err := io.ReadAll(br)
			if err != nil || !strings.Contains(string(rest), "[DONE]") {
				t.Fatalf("stream accepted before the disk filled: %v %q", err, rest)
			}
			journalWait(t, "the stream's end counted as unwritten", 5*time.Second, func() bool { return journalMetric(t, g, "aether_journal_unwritten_events") >= 1 })

			d.full.Store(false)
			journalWait(t, "service after space came back", 10*time.Second, func() bool {
				code, _ := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer())
				return code == 200
			})
			journalWait(t, "every accepted event written and shipped", 10*time.Second, func() bool {
				st := g.Server.Shipper.Stats()
				return journalMetric(t, g, "aether_journal_unwritten_events") == 0 && st.Pending == 0 && st.UnshippedSeqs == 0
			})
			if delivered := g.Server.Shipper.Stats().Delivered; mode == "closed" && delivered != 3 {
				t.Fatalf("%d requests recorded, want the 3 that were served", delivered)
			}
		})
	}
}

// TestJournalDiskFullAtShutdown: SIGTERM (stopping the server) while the
// journal's disk is still full and a served request's end is not written.
// The process still stops, and the event is logged in full at ERROR as the
// last-resort record: its request ID and outcome, never the prompt or a
// key.
func TestJournalDiskFullAtShutdown(t *testing.T) {
	t.Parallel()
	d := &fullDisk{}
	var mu sync.Mutex
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(lockedWriter(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{}, JournalFile: d.open, Log: log})
	const prompt = "PROMPT-TEXT-journal-3f9a"
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`))
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	req.Header.Set("X-Fake-Chunks", "5")
	req.Header.Set("X-Fake-Chunk-Interval", "100ms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-ID")
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	d.full.Store(true)
	if rest, err := io.ReadAll(br); err != nil || !strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("stream: %v %q", err, rest)
	}
	resp.Body.Close()
	journalWait(t, "the end counted as unwritten", 5*time.Second, func() bool { return g.Server.Journal.Stats().Unwritten >= 1 })

	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the API did not stop on a full disk")
	}
	if st := g.Server.Journal.Stats(); st.Lost == 0 || st.Unwritten != 0 {
		t.Fatalf("journal after shutdown: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	var record string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, `\"k\":\"finished\"`) && strings.Contains(line, id) {
			record = line
		}
	}
	if record == "" || !strings.Contains(record, `\"status\":\"completed\"`) {
		t.Fatalf("no ERROR line holds the final event of %s:\n%s", id, logs.String())
	}
	for _, secret := range []string{prompt, gatewaytest.Key, "k-openai-primary", "wörld"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

type lockedWriter func([]byte) (int, error)

func (f lockedWriter) Write(b []byte) (int, error) { return f(b) }

// TestJournalSpaceReclaimed: thousands of requests, all shipped. With a
// small configured segment size the journal directory stays within a few
// segments while they run; with the default (16 MiB) segments it shrinks
// below 1 MiB by itself once everything is shipped, although its current
// segment never filled. No temporary file is left behind.
func TestJournalSpaceReclaimed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name           string
		segment        int
		peak, finalMax int64
	}{
		{"256KiB segments", 256 << 10, 6 * 256 << 10, 256<<10 + 64<<10},
		{"default segments", 0, 0, 1<<20 + 64<<10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{},
				Config: func(cfg *config.Config) {
					if c.segment > 0 {
						cfg.JournalSegment = c.segment
					}
				}})
			dir := g.Config.JournalDir
			size := func() int64 {
				var n int64
				entries, _ := os.ReadDir(dir)
				for _, e := range entries {
					if info, err := e.Info(); err == nil {
						n += info.Size()
					}
				}
				return n
			}
			const n = 1500
			work := make(chan int)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						if code, body := journalSend(t, g, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, gatewaytest.Bearer()); code != 200 {
							t.Errorf("%d %s", code, body)
						}
					}
				}()
			}
			var peak int64
			for i := range n {
				work <- i
				if i%50 == 0 {
					peak = max(peak, size())
				}
			}
			close(work)
			wg.Wait()
			journalWait(t, "all shipped", 30*time.Second, func() bool { return g.Server.Shipper.Stats().Delivered == n })
			t.Logf("%d events written, peak journal size %d bytes", g.Server.Journal.Stats().Written, peak)
			if c.peak > 0 && peak > c.peak {
				t.Errorf("journal grew to %d bytes with %d-byte segments", peak, c.segment)
			}
			journalWait(t, "shipped space reclaimed", 10*time.Second, func() bool { return size() <= c.finalMax })
			if _, err := os.Stat(filepath.Join(dir, "shipped.tmp")); err == nil {
				t.Error("shipped.tmp left behind")
			}
		})
	}
}

// BenchmarkGatewayJournal is BenchmarkGateway's small non-stream request
// with the durable journal instead of the in-memory recorder: fail-closed
// waits for the start event's fsync before calling the upstream, fail-open
// does not. The difference is the hot-path cost of a durable start.
func BenchmarkGatewayJournal(b *testing.B) {
	for _, mode := range []string{"open", "closed"} {
		b.Run(mode, func(b *testing.B) {
			g := gatewaytest.New(b, gatewaytest.Options{Journal: true, Temporal: nullTemporal{},
				Config: func(c *config.Config) { c.AccountingMode = mode }})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
				req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(fmt.Sprint(resp.StatusCode))
				}
			}
		})
	}
}

// TestJournalMaxBytesRefusesNewRequests: once the journal's files reach
// AETHER_JOURNAL_MAX_BYTES (nothing ships here, so they only grow), a new
// request gets 503 in its API's shape without an upstream call when
// accounting is fail-closed, and is served when it is fail-open.
func TestJournalMaxBytesRefusesNewRequests(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{},
				Config: func(c *config.Config) { c.AccountingMode, c.JournalMaxBytes = mode, 1 }})
			const chat = `{"model":"gpt-4o-mini","messages":[]}`
			if code, body := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer()); code != 200 {
				t.Fatalf("first request, journal empty: %d %s", code, body)
			}
			upstreamCalls := g.Fake.Count()
			code, body := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer())
			switch mode {
			case "closed":
				if code != 503 || g.Fake.Count() != upstreamCalls {
					t.Fatalf("request past the journal cap: %d %s (upstream calls %d -> %d); want 503 and no upstream call", code, body, upstreamCalls, g.Fake.Count())
				}
				errorShape(t, "openai", 503, []byte(body))
			case "open":
				if code != 200 {
					t.Fatalf("fail-open past the journal cap: %d %s", code, body)
				}
			}
		})
	}
}
