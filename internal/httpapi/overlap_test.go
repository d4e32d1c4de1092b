package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"aether/internal/accounting"
	"aether/internal/config"
	"aether/internal/testkit/gatewaytest"
)

// slowFailingDisk refuses the journal's writes with EIO while failing is
// set, after delay: the disk's failure is known only after the upstream
// has answered.
type slowFailingDisk struct {
	failing atomic.Bool
	delay   time.Duration
}

type slowFailingFile struct {
	*os.File
	d *slowFailingDisk
}

func (d *slowFailingDisk) open(name string, flag int, perm os.FileMode) (accounting.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &slowFailingFile{File: f, d: d}, nil
}

func (f *slowFailingFile) Write(b []byte) (int, error) {
	if f.d.failing.Load() {
		time.Sleep(f.d.delay)
		return 0, syscall.EIO
	}
	return f.File.Write(b)
}

// TestFailClosedStartOverlapsUpstream: fail-closed accounting calls the
// upstream while the start event is written (issue 11 §5), but nothing of
// the upstream's answer reaches the client before the start is on disk.
// When the start's write fails after the upstream answered, the client
// gets the same 503 in its API's shape as a request refused before any
// upstream call, no header or byte of the answer, and the request leaves
// no record; the abandoned attempt is counted. When the write fails while
// the upstream is still working, the attempt is cancelled at once.
func TestFailClosedStartOverlapsUpstream(t *testing.T) {
	t.Parallel()
	d := &slowFailingDisk{delay: 300 * time.Millisecond}
	g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{}, JournalFile: d.open,
		Config: func(c *config.Config) { c.AccountingMode = "closed" }})
	const chat = `{"model":"gpt-4o-mini","messages":[]}`
	if code, body := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer()); code != 200 {
		t.Fatalf("before: %d %s", code, body)
	}
	anthropic := map[string]string{"x-api-key": gatewaytest.Key}
	cases := []struct {
		name, format, path, body string
		header                   map[string]string
		// slowUpstream: the upstream answers long after the disk failed.
		slowUpstream bool
	}{
		{name: "non-stream", format: "openai", path: "/v1/chat/completions", body: chat, header: gatewaytest.Bearer()},
		{name: "stream", format: "anthropic", path: "/v1/messages", body: `{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[]}`, header: anthropic},
		{name: "slow upstream", format: "openai", path: "/v1/chat/completions", body: chat, header: gatewaytest.Bearer(), slowUpstream: true},
	}
	d.failing.Store(true)
	for _, c := range cases {
		calls := g.Fake.Count()
		req, _ := http.NewRequest(http.MethodPost, g.URL+c.path, strings.NewReader(c.body))
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		if c.slowUpstream {
			req.Header.Set("X-Fake-Header-Delay", "5s")
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %s; want 503 with Retry-After", c.name, resp.StatusCode, body)
		}
		errorShape(t, c.format, 503, body)
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "event-stream") || strings.Contains(string(body), "choices") || strings.Contains(string(body), "event:") {
			t.Fatalf("%s: the upstream's answer reached the client: %s %s", c.name, ct, body)
		}
		if g.Fake.Count() != calls+1 {
			t.Fatalf("%s: upstream calls %d -> %d; want the one made while the start was written", c.name, calls, g.Fake.Count())
		}
		if c.slowUpstream && took > 3*time.Second {
			t.Fatalf("%s: refused after %s; the upstream call was not cancelled when the start failed", c.name, took)
		}
		// The failed write is retried after a pause; the next start is
		// the probe that finds the disk still failing.
		time.Sleep(150 * time.Millisecond)
	}
	m := journalScrape(t, g)
	for format, want := range map[string]int{"openai": 2, "anthropic": 1} {
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^aether_refusals_total\{format="%s",reason="journal_after_upstream"\} %d$`, format, want))
		if !re.MatchString(m) {
			t.Fatalf("abandoned attempts of %s not counted %d times:\n%s", format, want, m)
		}
	}

	d.failing.Store(false)
	journalWait(t, "service after the disk recovered", 10*time.Second, func() bool {
		code, _ := journalSend(t, g, "/v1/chat/completions", chat, gatewaytest.Bearer())
		return code == 200
	})
	journalWait(t, "every accepted event written and shipped", 10*time.Second, func() bool {
		st := g.Server.Shipper.Stats()
		return journalMetric(t, g, "aether_journal_unwritten_events") == 0 && st.Pending == 0 && st.UnshippedSeqs == 0
	})
	if delivered := g.Server.Shipper.Stats().Delivered; delivered != 2 {
		t.Fatalf("%d requests recorded, want the 2 that were served", delivered)
	}
}

func journalScrape(t *testing.T, g *gatewaytest.Gateway) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
