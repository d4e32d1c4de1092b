package accounting

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"aether/internal/accounting/contract"
	"aether/internal/llm"
)

// DescribeWorkflow answers with the memo the workflow was started with, as
// the server does: the memo StartOptions gives its start input.
func (f *fakeTemporal) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	in, ok := f.starts[id]
	if !ok {
		return nil, serviceerror.NewNotFound("no such workflow")
	}
	_, memo := contract.StartOptions(in)
	fields := map[string]*commonpb.Payload{}
	for k, v := range memo {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			return nil, err
		}
		fields[k] = p
	}
	return &client.WorkflowExecutionDescription{
		WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{Memo: &commonpb.Memo{Fields: fields}},
	}, nil
}

// TestConflictingWorkflowIsNotDelivered: a request whose ID is held by a
// workflow of another request (another fingerprint) is neither delivered
// to it nor counted delivered. It is counted as a conflict and logged at
// ERROR with its events, and the journal moves past it. A workflow this
// request's own earlier start left (same fingerprint) still gets the rest
// by signal.
func TestConflictingWorkflowIsNotDelivered(t *testing.T) {
	ft := newFakeTemporal()
	mine, taken := meta("mine"), meta("taken")
	taken.APIKeyID = 1
	foreign := taken
	foreign.APIKeyID, foreign.ReceivedAt = 2, taken.ReceivedAt.Add(-time.Minute)
	ft.starts["taken"] = contract.RequestInput{Meta: foreign} // running, another request's
	ft.starts["mine"] = contract.RequestInput{Meta: mine}     // a previous run's start of this one

	j, err := OpenJournal(JournalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	s := NewShipper(ShipperConfig{TaskQueue: "q", Coalesce: time.Second, Workers: 2}, ft, j, log)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	defer func() { _ = j.Close(); cancel(); <-stopped }()
	rec := &Recorder{J: j}

	for _, m := range []llm.RequestMeta{mine, taken, meta("fresh")} {
		if err := rec.Started(m, []llm.Candidate{{Index: 0, KeyID: 7, Provider: "p"}}); err != nil {
			t.Fatal(err)
		}
		rec.FirstByte(m.RequestID, time.Now())
		rec.Finished(m.RequestID, done(llm.StatusCompleted))
	}
	eventually(t, "all released", func() bool { st := s.Stats(); return st.Pending == 0 && st.UnshippedSeqs == 0 })
	eventually(t, "checkpoint past the conflict", func() bool { return shippedSeq(j) == 9 })

	ft.mu.Lock()
	if n := len(ft.signals["taken"]); n != 0 {
		t.Errorf("%d signals sent to another request's workflow", n)
	}
	if got := ft.starts["taken"].Meta; got != foreign {
		t.Errorf("the other request's workflow was replaced: %+v", got)
	}
	ft.mu.Unlock()
	if o := ft.finalOutcome("mine"); o == nil || o.Status != llm.StatusCompleted {
		t.Errorf("own earlier start not completed by signal: %+v", o)
	}
	if o := ft.finalOutcome("fresh"); o == nil {
		t.Error("an ordinary request was not delivered")
	}
	if st := s.Stats(); st.Delivered != 2 || st.Conflicts != 1 {
		t.Errorf("delivered %d, conflicts %d; want 2 and 1 (a conflict is never counted delivered)", st.Delivered, st.Conflicts)
	}
	line := logs.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, `\"request_id\":\"taken\"`) ||
		!strings.Contains(line, `\"output_tokens\":7`) || !strings.Contains(line, `\"api_key_id\":1`) {
		t.Fatalf("conflict not logged once at ERROR with its events: %s", line)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
