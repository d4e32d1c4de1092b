package devstack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCrashLoopBacksOffAndGivesUp: a child that exits at once every time
// is restarted with a doubling back-off up to its maximum, and after the
// policy's limit it is left down and Wait reports it (issue 8, item 21).
func TestCrashLoopBacksOffAndGivesUp(t *testing.T) {
	var out bytes.Buffer
	s := &Stack{opts: Options{Out: &out}, failed: make(chan error, 1),
		policy: restartPolicy{first: 20 * time.Millisecond, max: 80 * time.Millisecond, reset: time.Hour, limit: 4, window: time.Hour}}
	crashed := func() chan struct{} { c := make(chan struct{}); close(c); return c }
	cur := crashed()
	var starts []time.Time
	log := filepath.Join(t.TempDir(), "crashy.log")
	s.children = []*child{{name: "crashy", log: log,
		done: func() <-chan struct{} { return cur }, exit: func() string { return "exit status 1" }, pid: func() int { return 42 },
		restart: func(context.Context) error {
			s.mu.Lock()
			starts, cur = append(starts, time.Now()), crashed()
			s.mu.Unlock()
			return nil
		}}}
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	s.superCancel = cancel
	s.supervise(ctx)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	err := s.Wait(wctx)
	s.Stop()
	if err == nil || !strings.Contains(err.Error(), "crashy exited (exit status 1) and was already restarted 4 times") {
		t.Fatalf("Wait = %v\n%s", err, out.String())
	}
	if len(starts) != 4 {
		t.Fatalf("%d restarts, want 4", len(starts))
	}
	// Back-offs 20, 40, 80, 80 ms: each gap at least its back-off.
	prev := began
	for i, want := range []time.Duration{20, 40, 80, 80} {
		if gap := starts[i].Sub(prev); gap < want*time.Millisecond {
			t.Errorf("restart %d after %s, want at least %dms", i+1, gap, want)
		}
		prev = starts[i]
	}
	b, _ := os.ReadFile(log)
	if n := strings.Count(string(b), "devstack: crashy exited unexpectedly (exit status 1); restarting it in"); n != 4 {
		t.Errorf("%d restart notes in the child's log:\n%s", n, b)
	}
	if !strings.Contains(out.String(), "leaving it down") {
		t.Errorf("terminal output: %s", out.String())
	}
}
