package accounting

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"aether/internal/accounting/contract"
	"aether/internal/llm"
)

// fakeTemporal records what the shipper sends and can fail on demand. It
// keeps a workflow per ID like the server: a second start is refused.
type fakeTemporal struct {
	mu       sync.Mutex
	down     bool
	calls    int
	starts   map[string]contract.RequestInput
	signals  map[string][]contract.Event
	closed   map[string]bool
	startErr int // failing calls while down
	// parents: the span context each start's ctx carried.
	parents map[string]trace.SpanContext
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{starts: map[string]contract.RequestInput{}, signals: map[string][]contract.Event{}, closed: map[string]bool{}, parents: map[string]trace.SpanContext{}}
}

var errDown = errors.New("connection refused")

func (f *fakeTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.parents[o.ID] = trace.SpanContextFromContext(ctx)
	if f.down {
		f.startErr++
		return nil, errDown
	}
	if _, ok := f.starts[o.ID]; ok {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "")
	}
	in := args[0].(contract.RequestInput)
	f.starts[o.ID] = in
	if in.Outcome != nil {
		f.closed[o.ID] = true
	}
	return nil, nil
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, id, _ string, arg any, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		f.startErr++
		return nil, errDown
	}
	if f.closed[id] {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("closed", "", "")
	}
	if _, ok := f.starts[id]; !ok {
		f.starts[id] = args[0].(contract.RequestInput)
	}
	ev := arg.(contract.Event)
	f.signals[id] = append(f.signals[id], ev)
	if ev.Outcome != nil {
		f.closed[id] = true
	}
	return nil, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, _, _ string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return errDown
	}
	if _, ok := f.starts[id]; !ok || f.closed[id] {
		return serviceerror.NewNotFound("no such workflow")
	}
	f.signals[id] = append(f.signals[id], arg.(contract.Event))
	return nil
}

// finalOutcome returns the outcome the fake workflow received, however it
// arrived.
func (f *fakeTemporal) finalOutcome(id string) *llm.Outcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := f.starts[id]; ok && in.Outcome != nil {
		return in.Outcome
	}
	for _, ev := range f.signals[id] {
		if ev.Outcome != nil {
			return ev.Outcome
		}
	}
	return nil
}

type pipeline struct {
	j    *Journal
	s    *Shipper
	rec  *Recorder
	stop func()
}

func startPipeline(t *testing.T, dir string, ft *fakeTemporal, coalesce time.Duration) *pipeline {
	t.Helper()
	j, err := OpenJournal(JournalConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := NewShipper(ShipperConfig{TaskQueue: "q", Coalesce: coalesce, Workers: 4}, ft, j, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	p := &pipeline{j: j, s: s, rec: &Recorder{J: j}}
	p.stop = func() { _ = j.Close(); cancel(); <-done }
	return p
}

func meta(id string) llm.RequestMeta {
	now := time.Now()
	return llm.RequestMeta{RequestID: id, Model: "m", Format: llm.FormatOpenAI, ReceivedAt: now, Deadline: now.Add(time.Minute)}
}

func done(status llm.Status) llm.Outcome {
	return llm.Outcome{Status: status, StatusCode: 200, CandidateIndex: 0, FinishedAt: time.Now(), Usage: llm.Usage{InputTokens: 5, OutputTokens: 7, Known: true}}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShortRequestShipsAsOneStart: a request that ended within the
// coalescing window costs exactly one Temporal call.
func TestShortRequestShipsAsOneStart(t *testing.T) {
	ft := newFakeTemporal()
	p := startPipeline(t, t.TempDir(), ft, 500*time.Millisecond)
	defer p.stop()
	for i := range 20 {
		id := "short-" + string(rune('a'+i))
		_ = p.rec.Started(meta(id), []llm.Candidate{{Index: 0, KeyID: 1}})
		p.rec.Finished(id, done(llm.StatusCompleted))
	}
	eventually(t, "20 deliveries", func() bool { return p.s.Stats().Delivered == 20 })
	ft.mu.Lock()
	calls := ft.calls
	ft.mu.Unlock()
	if calls != 20 {
		t.Fatalf("%d Temporal calls for 20 short requests, want 20", calls)
	}
	eventually(t, "checkpoint", func() bool { return p.s.Stats().UnshippedSeqs == 0 && shippedSeq(p.j) == 40 })
}

// TestLongRequestStartsThenSignals: a stream still running after the
// window is started (streaming), and its end arrives later by signal.
func TestLongRequestStartsThenSignals(t *testing.T) {
	ft := newFakeTemporal()
	p := startPipeline(t, t.TempDir(), ft, 100*time.Millisecond)
	defer p.stop()
	_ = p.rec.Started(meta("long"), nil)
	p.rec.FirstByte("long", time.Now())
	eventually(t, "start", func() bool { ft.mu.Lock(); defer ft.mu.Unlock(); _, ok := ft.starts["long"]; return ok })
	ft.mu.Lock()
	in := ft.starts["long"]
	ft.mu.Unlock()
	if in.Outcome != nil || in.FirstByteAt.IsZero() {
		t.Fatalf("start carried outcome %v first byte %v", in.Outcome, in.FirstByteAt)
	}
	p.rec.Finished("long", done(llm.StatusCompleted))
	eventually(t, "final signal", func() bool { return ft.finalOutcome("long") != nil })
	if p.s.Stats().Pending != 0 {
		t.Fatal("request still pending after delivery")
	}
}

// TestTemporalOutage: while Temporal refuses calls, nothing is lost and
// calls back off instead of hammering it; when it returns, all drain.
func TestTemporalOutage(t *testing.T) {
	ft := newFakeTemporal()
	ft.down = true
	p := startPipeline(t, t.TempDir(), ft, 50*time.Millisecond)
	defer p.stop()
	for i := range 200 {
		id := "outage-" + time.Now().Format("150405.000000000") + string(rune('A'+i%26)) + string(rune('a'+i/26))
		_ = p.rec.Started(meta(id), nil)
		p.rec.Finished(id, done(llm.StatusCompleted))
	}
	time.Sleep(1500 * time.Millisecond)
	ft.mu.Lock()
	failed := ft.startErr
	ft.down = false
	ft.mu.Unlock()
	if failed > 30 {
		t.Fatalf("%d failing calls in 1.5s of outage: no shared back-off", failed)
	}
	if st := p.s.Stats(); st.Pending != 200 || st.OldestAge <= 0 {
		t.Fatalf("during outage: %+v", st)
	}
	eventually(t, "drain after outage", func() bool { return p.s.Stats().Delivered == 200 })
}

// TestCrashRecovery: a process dies with one request finished but not
// shipped and one still running. The next process ships the first as it
// was and closes the second as failed/interrupted.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	ft := newFakeTemporal()
	ft.down = true
	p := startPipeline(t, dir, ft, time.Hour)
	_ = p.rec.Started(meta("finished-unshipped"), nil)
	p.rec.Finished("finished-unshipped", done(llm.StatusCompleted))
	_ = p.rec.Started(meta("mid-stream"), nil)
	p.rec.FirstByte("mid-stream", time.Now())
	eventually(t, "durable", func() bool { return p.j.Stats().Written == 4 })
	p.stop() // the process is gone; nothing reached Temporal

	ft.mu.Lock()
	ft.down = false
	ft.mu.Unlock()
	p2 := startPipeline(t, dir, ft, time.Hour)
	defer p2.stop()
	eventually(t, "both delivered", func() bool { return p2.s.Stats().Delivered == 2 })
	if o := ft.finalOutcome("finished-unshipped"); o == nil || o.Status != llm.StatusCompleted || o.Usage.OutputTokens != 7 {
		t.Fatalf("finished request shipped as %+v", o)
	}
	if o := ft.finalOutcome("mid-stream"); o == nil || o.Status != llm.StatusFailed || o.ErrorClass != llm.ErrInterrupted {
		t.Fatalf("interrupted request shipped as %+v", o)
	}
	// Replaying again ships nothing twice: the workflows exist.
	p2.stop()
	p3 := startPipeline(t, dir, ft, time.Hour)
	defer p3.stop()
	time.Sleep(700 * time.Millisecond)
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.starts) != 2 {
		t.Fatalf("%d workflows after a second replay", len(ft.starts))
	}
}

// TestTraceParentRidesInStart: a request's journaled traceparent comes back
// in the workflow's input and is the remote parent in the start call's
// context, where the client's tracing interceptor puts it in the
// workflow's header. Without one the start carries no span.
func TestTraceParentRidesInStart(t *testing.T) {
	ft := newFakeTemporal()
	p := startPipeline(t, t.TempDir(), ft, 10*time.Millisecond)
	defer p.stop()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced := meta("traced")
	traced.TraceParent = tp
	_ = p.rec.Started(traced, []llm.Candidate{{Index: 0, KeyID: 1}})
	p.rec.Finished("traced", done(llm.StatusCompleted))
	_ = p.rec.Started(meta("plain"), []llm.Candidate{{Index: 0, KeyID: 1}})
	p.rec.Finished("plain", done(llm.StatusCompleted))
	eventually(t, "2 deliveries", func() bool { return p.s.Stats().Delivered == 2 })
	ft.mu.Lock()
	defer ft.mu.Unlock()
	id := contract.WorkflowID("traced")
	if got := ft.starts[id].Meta.TraceParent; got != tp {
		t.Errorf("journaled traceparent %q, want %q", got, tp)
	}
	sc := ft.parents[id]
	if !sc.IsRemote() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" || !sc.IsSampled() {
		t.Errorf("start's parent span context %+v", sc)
	}
	if sc := ft.parents[contract.WorkflowID("plain")]; sc.IsValid() {
		t.Errorf("untraced request's start carries span %v", sc.TraceID())
	}
}
