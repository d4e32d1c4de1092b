package accounting

import (
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
