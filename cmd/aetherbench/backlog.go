package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// The backlog mode (issue 11): the API under test reaches Temporal only
// through a TCP relay this command runs, so Temporal is unreachable until
// the relay opens. Start the API with AETHER_TEMPORAL_ADDRESS set to the
// relay's address and its own AETHER_JOURNAL_DIR, then:
//
//	aetherbench -gateway http://127.0.0.1:8190 -pid $API_PID -backlog 300000           # build it
//	aetherbench -gateway http://127.0.0.1:8190 -pid $API_PID -backlog-drain 40m        # open Temporal, drain
//
// The two steps may be one run (both flags); split, the second can run
// alone under an exclusive measurement lock.
var (
	backlogN     = flag.Int("backlog", 0, "send this many requests while Temporal is unreachable (see backlog.go)")
	backlogDrain = flag.Duration("backlog-drain", 0, "then relay to Temporal and measure the drain for at most this long")
	backlogRelay = flag.String("backlog-relay", "127.0.0.1:7299", "address of the relay to AETHER_TEMPORAL_ADDRESS that the API under test dials")
)

func backlog(t target, body string, conc, pid int, dbURL, temporalAddr string) {
	ctx := context.Background()
	if pid == 0 {
		fmt.Fprintln(os.Stderr, "aetherbench: -backlog needs -pid, the API under test")
		os.Exit(2)
	}
	metricsURL := strings.TrimSuffix(t.url, "/v1/chat/completions") + "/metrics"
	start := time.Now()
	row := func(phase string, sent, recorded int64) {
		m := scrape(t.c, metricsURL)
		fmt.Printf("%-6s %7.0fs %8d %9d %10.0f %9.0f %9.1f %9.0f %8s\n", phase, time.Since(start).Seconds(), sent, recorded,
			m["aether_journal_unshipped_entries"], m["aether_journal_shipper_memory_entries"], m["aether_journal_bytes"]/(1<<20),
			m["aether_journal_oldest_unshipped_seconds"], procStatus(pid, "VmRSS"))
	}
	header := func() {
		fmt.Printf("%-6s %8s %8s %9s %10s %9s %9s %9s %8s\n", "phase", "elapsed", "sent", "recorded", "unshipped", "in-memory", "disk MiB", "oldest s", "RSS")
	}

	if *backlogN > 0 {
		fmt.Printf("aetherbench: %d requests on %d connections while Temporal is unreachable\n", *backlogN, conc)
		header()
		row("before", 0, 0)
		var sent, failed atomic.Int64
		var next atomic.Int64
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(*backlogN) {
					if _, err := t.onceID(body); err != nil {
						failed.Add(1)
						continue
					}
					sent.Add(1)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		report := time.NewTicker(10 * time.Second)
	build:
		for {
			select {
			case <-report.C:
				row("build", sent.Load(), 0)
			case <-done:
				break build
			}
		}
		report.Stop()
		took := time.Since(start)
		row("built", sent.Load(), 0)
		fmt.Printf("built: %d requests served (%d failed) in %.1fs, %.0f/s; API peak RSS %s\n",
			sent.Load(), failed.Load(), took.Seconds(), float64(sent.Load())/took.Seconds(), procStatus(pid, "VmHWM"))
		time.Sleep(10 * time.Second)
		row("idle", sent.Load(), 0)
	}
	if *backlogDrain <= 0 {
		return
	}

	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aetherbench: source .dev/env first:", err)
		os.Exit(2)
	}
	defer db.Close(ctx)
	count := func() int64 {
		var n int64
		_ = db.QueryRow(ctx, `SELECT count(*) FROM requests WHERE status IN ('completed', 'failed', 'cancelled')`).Scan(&n)
		return n
	}
	base := count()
	backlogSize := scrape(t.c, metricsURL)["aether_journal_unshipped_entries"]
	ln, err := net.Listen("tcp", *backlogRelay)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aetherbench: relay:", err)
		os.Exit(1)
	}
	defer ln.Close()
	go relay(ln, temporalAddr)
	fmt.Printf("\naetherbench: Temporal reachable through %s; draining %.0f journal entries for at most %s\n", *backlogRelay, backlogSize, *backlogDrain)
	start = time.Now()
	header()
	row("drain", 0, 0)
	var first time.Time
	var firstRec int64
	report := time.NewTicker(30 * time.Second)
	defer report.Stop()
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	deadline := time.After(*backlogDrain)
	var rec int64
loop:
	for {
		select {
		case <-poll.C:
			rec = count() - base
			if first.IsZero() && rec > 0 {
				first, firstRec = time.Now(), rec
				fmt.Printf("first rows recorded %.1fs after Temporal became reachable\n", time.Since(start).Seconds())
			}
			if scrape(t.c, metricsURL)["aether_journal_unshipped_entries"] == 0 {
				break loop
			}
		case <-report.C:
			row("drain", 0, count()-base)
		case <-deadline:
			break loop
		}
	}
	rec = count() - base
	row("end", 0, rec)
	if !first.IsZero() && rec > firstRec {
		d := time.Since(first)
		fmt.Printf("drained: %d rows recorded in %.1fs after the first, %.1f recorded/s; API peak RSS %s\n",
			rec-firstRec, d.Seconds(), float64(rec-firstRec)/d.Seconds(), procStatus(pid, "VmHWM"))
	}
}

// relay forwards every connection accepted on ln to addr.
func relay(ln net.Listener, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { _, _ = io.Copy(u, c); _ = u.(*net.TCPConn).CloseWrite() }()
			_, _ = io.Copy(c, u)
		}()
	}
}

// scrape reads the gauges of a Prometheus text page that have no labels.
func scrape(c *http.Client, url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := c.Get(url)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}
