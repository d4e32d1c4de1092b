package accounting

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"aether/internal/llm"
)

// TestBacklogStaysOnDisk (issue 11): while Temporal is down, a backlog of
// 20,000 requests stays in the journal's files. The shipper holds at most
// its window of entries in memory, and Stats still counts every entry not
// delivered. Once Temporal is back, all 20,000 are delivered exactly once,
// each as one start carrying its end, and the window is never exceeded.
func TestBacklogStaysOnDisk(t *testing.T) {
	const n = 20_000
	ft := newFakeTemporal()
	ft.down = true
	p := startPipeline(t, t.TempDir(), ft, time.Hour)
	defer p.stop()
	window := p.s.cfg.Window
	for i := range n {
		id := fmt.Sprintf("backlog-%05d", i)
		if err := p.rec.Started(meta(id), nil); err != nil {
			t.Fatal(err)
		}
		p.rec.Finished(id, done(llm.StatusCompleted))
	}
	eventually(t, "the backlog on disk", func() bool { return p.j.Stats().Written == 2*n })
	eventually(t, "the window filled", func() bool { return p.s.Stats().InMemory == window })
	time.Sleep(300 * time.Millisecond) // more journal notifications and ticks: still no more read
	st := p.s.Stats()
	if st.InMemory > window || st.Pending > window {
		t.Fatalf("Temporal down, %d requests journaled: the shipper holds %d entries of %d requests, want at most its window of %d", n, st.InMemory, st.Pending, window)
	}
	if st.UnshippedSeqs != 2*n || st.OldestAge <= 0 {
		t.Fatalf("Temporal down: %d entries reported undelivered (want %d, on disk included), oldest %s", st.UnshippedSeqs, 2*n, st.OldestAge)
	}

	ft.mu.Lock()
	ft.down = false
	ft.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for st := p.s.Stats(); st.Delivered < n || st.UnshippedSeqs > 0; st = p.s.Stats() {
		if st.InMemory > window {
			t.Fatalf("draining: the shipper holds %d entries, over its window of %d", st.InMemory, window)
		}
		if time.Now().After(deadline) {
			t.Fatalf("drain stopped at %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ok := ft.calls - ft.startErr; ok != n || len(ft.starts) != n || len(ft.signals) != 0 {
		t.Fatalf("%d successful Temporal calls, %d workflows, %d signalled; want %d, %d and none", ok, len(ft.starts), len(ft.signals), n, n)
	}
	for id, in := range ft.starts {
		if in.Outcome == nil || in.Outcome.Status != llm.StatusCompleted {
			t.Fatalf("%s delivered without its end: %+v", id, in.Outcome)
		}
	}
	if st := p.s.Stats(); st.Delivered != n {
		t.Fatalf("%d requests delivered, want %d", st.Delivered, n)
	}
	eventually(t, "the checkpoint past the backlog", func() bool { return shippedSeq(p.j) == 2*n })
}

// TestRestartWithBacklog (issue 11): a process dies with 5,000 finished
// requests not shipped and 10 streams cut mid-way, early and late in its
// journal. The next process starts while Temporal is still down and holds
// no more than its window; once Temporal is back it ships every finished
// request as it was and closes the 10 as failed/interrupted with their
// first byte, each workflow started once.
func TestRestartWithBacklog(t *testing.T) {
	const n = 5_000
	dir := t.TempDir()
	ft := newFakeTemporal()
	ft.down = true
	p := startPipeline(t, dir, ft, time.Hour)
	var cut []string
	for i := range n {
		if i%1000 == 0 || i == n-1 {
			id := fmt.Sprintf("cut-%05d", i)
			cut = append(cut, id)
			_ = p.rec.Started(meta(id), nil)
			p.rec.FirstByte(id, time.Now())
		}
		id := fmt.Sprintf("done-%05d", i)
		_ = p.rec.Started(meta(id), nil)
		p.rec.Finished(id, done(llm.StatusCompleted))
	}
	eventually(t, "durable", func() bool { return p.j.Stats().Written == uint64(2*n+2*len(cut)) })
	p.stop() // the process is gone; nothing reached Temporal

	p2 := startPipeline(t, dir, ft, time.Hour)
	defer p2.stop()
	window := p2.s.cfg.Window
	eventually(t, "the window filled", func() bool { return p2.s.Stats().InMemory == window })
	if st := p2.s.Stats(); st.Pending > window || st.UnshippedSeqs != 2*n+2*len(cut) {
		t.Fatalf("restarted with Temporal down: %d requests in memory (window %d), %d entries reported undelivered, want %d", st.Pending, window, st.UnshippedSeqs, 2*n+2*len(cut))
	}
	ft.mu.Lock()
	ft.down = false
	ft.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for st := p2.s.Stats(); st.Delivered < uint64(n+len(cut)) || st.UnshippedSeqs > 0; st = p2.s.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("drain after the restart stopped at %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ft.mu.Lock()
	workflows := len(ft.starts)
	ft.mu.Unlock()
	if workflows != n+len(cut) {
		t.Fatalf("%d workflows, want %d", workflows, n+len(cut))
	}
	for _, id := range cut {
		if o := ft.finalOutcome(id); o == nil || o.Status != llm.StatusFailed || o.ErrorClass != llm.ErrInterrupted || o.FirstByte <= 0 {
			t.Fatalf("%s closed as %+v", id, o)
		}
	}
	for i := range n {
		if o := ft.finalOutcome(fmt.Sprintf("done-%05d", i)); o == nil || o.Status != llm.StatusCompleted {
			t.Fatalf("done-%05d shipped as %+v", i, o)
		}
	}
}

// TestTemporalBacklogHoldsShipping (issue 11): while Temporal's task queue
// reports more waiting workflow tasks than MaxBacklog, the shipper makes
// no call, so the tasks it starts keep finding a waiting worker; once the
// backlog falls to half, shipping resumes. The journal holds 50 requests
// from before a restart.
func TestTemporalBacklogHoldsShipping(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{J: j}
	for i := range 50 {
		id := fmt.Sprintf("held-%02d", i)
		_ = rec.Started(meta(id), nil)
		rec.Finished(id, done(llm.StatusCompleted))
	}
	eventually(t, "durable", func() bool { return j.DurableSeq() == 100 })

	ft := newFakeTemporal()
	var backlog atomic.Int64
	backlog.Store(500)
	s := NewShipper(ShipperConfig{TaskQueue: "q", Coalesce: time.Hour, Workers: 4, MaxBacklog: 200,
		Backlog: func(context.Context) (int64, error) { return backlog.Load(), nil }}, ft, j, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	defer func() { _ = j.Close(); cancel(); <-stopped }()
	eventually(t, "held back", func() bool { st := s.Stats(); return st.HeldBack == 1 && st.InMemory == 100 })
	backlog.Store(150) // below the cap, above half of it: still held
	time.Sleep(time.Second)
	ft.mu.Lock()
	calls := ft.calls
	ft.mu.Unlock()
	if calls != 0 {
		t.Fatalf("%d Temporal calls while its task queue held %d tasks", calls, backlog.Load())
	}
	backlog.Store(100)
	eventually(t, "shipping resumed", func() bool { return s.Stats().Delivered == 50 })
}
