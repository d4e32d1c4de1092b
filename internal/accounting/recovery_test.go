package accounting

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"aether/internal/llm"
)

// TestRestartClosesShippedOpenRequests: the process dies with streams in
// flight, three already shipped as streaming (their starts are below the
// checkpoint, so no journal entry of theirs is replayed) and two not
// shipped at all. The next process closes all five as failed/interrupted
// at once, keeping their first byte, signalling the three existing
// workflows instead of starting new ones, and a third process finds
// nothing left to do.
func TestRestartClosesShippedOpenRequests(t *testing.T) {
	dir := t.TempDir()
	ft := newFakeTemporal()
	p := startPipeline(t, dir, ft, 50*time.Millisecond)
	shipped := []string{"open-a", "open-b", "open-c"}
	for _, id := range shipped {
		_ = p.rec.Started(meta(id), nil)
		p.rec.FirstByte(id, time.Now())
	}
	eventually(t, "starts shipped and checkpointed", func() bool { return shippedSeq(p.j) >= 6 })
	ft.mu.Lock()
	ft.down = true
	ft.mu.Unlock()
	unshipped := []string{"late-x", "late-y"}
	for _, id := range unshipped {
		_ = p.rec.Started(meta(id), nil)
		p.rec.FirstByte(id, time.Now())
	}
	eventually(t, "durable", func() bool { return p.j.Stats().Written == 10 })
	p.stop() // the process is gone; no request ended

	ft.mu.Lock()
	ft.down = false
	ft.mu.Unlock()
	restarted := time.Now()
	p2 := startPipeline(t, dir, ft, time.Hour)
	for _, id := range append(shipped, unshipped...) {
		eventually(t, id+" closed", func() bool { return ft.finalOutcome(id) != nil })
		if o := ft.finalOutcome(id); o.Status != llm.StatusFailed || o.ErrorClass != llm.ErrInterrupted || o.FirstByte <= 0 {
			t.Fatalf("%s closed as %+v", id, o)
		}
	}
	if d := time.Since(restarted); d > 5*time.Second {
		t.Fatalf("open requests closed %s after the restart", d)
	}
	ft.mu.Lock()
	for _, id := range shipped {
		if in := ft.starts[id]; in.FirstByteAt.IsZero() || in.Outcome != nil || len(ft.signals[id]) != 1 {
			t.Errorf("%s: start %+v, signals %+v; want the streaming start kept and one closing signal", id, in, ft.signals[id])
		}
	}
	for _, id := range unshipped {
		if ft.starts[id].FirstByteAt.IsZero() {
			t.Errorf("%s: first byte lost", id)
		}
	}
	if len(ft.starts) != 5 {
		t.Errorf("%d workflows, want 5", len(ft.starts))
	}
	ft.mu.Unlock()
	eventually(t, "checkpoint without open requests", func() bool { return p2.s.Stats().Pending == 0 })
	p2.stop()

	ft.mu.Lock()
	calls := ft.calls
	ft.mu.Unlock()
	p3 := startPipeline(t, dir, ft, time.Hour)
	defer p3.stop()
	if n := len(p3.j.RecoveredOpen()) + len(recovered(t, p3.j)); n != 0 {
		t.Fatalf("third run recovered %d records", n)
	}
	time.Sleep(300 * time.Millisecond)
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.calls != calls {
		t.Fatalf("third run made %d Temporal calls", ft.calls-calls)
	}
}

// TestRestartKeepsFirstByteJournaledApart: a stream cut by a crash keeps
// its first byte however its entries lie after the checkpoint: in the
// same segment as its start or the next one, read in the same batch as
// its start or a later one (a window of one entry), and whether its start
// was delivered before the crash (the checkpoint lists it as open without
// a first byte) or not. The restarted shipper closes it only once it has
// read the first byte, so the closing event carries it.
func TestRestartKeepsFirstByteJournaledApart(t *testing.T) {
	cases := []struct {
		name    string
		segment int64 // JournalConfig.SegmentBytes: 1 puts every write in its own segment
		window  int   // ShipperConfig.Window after the restart: 1 reads one entry at a time
		shipped bool  // the start was delivered before the crash
	}{
		{"same segment and batch", 0, 0, false},
		{"first byte in the next segment", 1, 0, false},
		{"first byte in a later read batch", 0, 1, false},
		{"start delivered, then first byte journaled", 0, 0, true},
		{"start delivered, first byte in the next segment and a later batch", 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ft := newFakeTemporal()
			ft.down = !tc.shipped
			jcfg := JournalConfig{Dir: dir, SegmentBytes: tc.segment}
			p := startPipelineWith(t, jcfg, ShipperConfig{TaskQueue: "q", Coalesce: 50 * time.Millisecond, Workers: 4}, ft)
			_ = p.rec.Started(meta("cut"), nil)
			eventually(t, "start durable", func() bool { return p.j.Stats().Written == 1 })
			if tc.shipped {
				eventually(t, "start delivered and checkpointed", func() bool { return shippedSeq(p.j) == 1 })
				ft.mu.Lock()
				ft.down = true
				ft.mu.Unlock()
			}
			fb := time.Now()
			p.rec.FirstByte("cut", fb)
			eventually(t, "first byte durable", func() bool { return p.j.Stats().Written == 2 })
			p.stop() // the process is gone; the stream never ended

			ft.mu.Lock()
			ft.down = false
			ft.mu.Unlock()
			p2 := startPipelineWith(t, jcfg, ShipperConfig{TaskQueue: "q", Coalesce: 50 * time.Millisecond, Workers: 4, Window: tc.window}, ft)
			defer p2.stop()
			eventually(t, "cut stream closed", func() bool { return ft.finalOutcome("cut") != nil })
			o := ft.finalOutcome("cut")
			if o.Status != llm.StatusFailed || o.ErrorClass != llm.ErrInterrupted || o.FirstByte <= 0 {
				t.Fatalf("closed as %+v, want failed/interrupted with its first byte", o)
			}
			ft.mu.Lock()
			defer ft.mu.Unlock()
			got := ft.starts["cut"].FirstByteAt
			for _, ev := range ft.signals["cut"] {
				got = cmpTime(got, ev.FirstByteAt)
			}
			if !got.Equal(fb) {
				t.Fatalf("the workflow holds first byte %v, want %v", got, fb)
			}
		})
	}
}

// startPipelineWith is startPipeline with the journal and shipper
// configured by the caller.
func startPipelineWith(t *testing.T, jcfg JournalConfig, scfg ShipperConfig, ft *fakeTemporal) *pipeline {
	t.Helper()
	j, err := OpenJournal(jcfg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewShipper(scfg, ft, j, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	p := &pipeline{j: j, s: s, rec: &Recorder{J: j}}
	p.stop = func() { _ = j.Close(); cancel(); <-done }
	return p
}
