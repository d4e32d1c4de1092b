package workflows_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/internal/testkit/testenv"
	"aether/workflows"
)

// TestRecordHousekeepingHistories runs the housekeeping workflows on the
// real Temporal dev server with real Postgres activities and writes their
// histories to testdata/, where TestReplayRecordedHistories replays them.
// It runs only with AETHER_RECORD_HISTORIES=1:
//
//	AETHER_RECORD_HISTORIES=1 go test -run TestRecordHousekeepingHistories ./workflows/
func TestRecordHousekeepingHistories(t *testing.T) {
	if os.Getenv("AETHER_RECORD_HISTORIES") == "" {
		t.Skip("set AETHER_RECORD_HISTORIES=1 to record the housekeeping histories into testdata/")
	}
	fx := newFixture(t)
	ctx := context.Background()
	// Expired rows for the cleanup to delete in more than one batch, and
	// requests on two past days for the rollup.
	old := time.Now().Add(-100 * 24 * time.Hour)
	if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO requests (request_id, model, api_format, status, created_at)
		SELECT 'old-' || g, 'claude', 'anthropic', 'completed', $1 FROM generate_series(1, 5) g`, old); err != nil {
		t.Fatal(err)
	}
	for i, daysAgo := range []int{2, 3} {
		day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -daysAgo).Add(time.Hour)
		if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO requests (request_id, user_id, model, provider, api_format, status, created_at, total_tokens, total_cost_usd)
			VALUES ($1, $2, 'claude', 'p1', 'anthropic', 'completed', $3, 100, 0.5)`, fmt.Sprintf("day-%d", i), fx.userID, day); err != nil {
			t.Fatal(err)
		}
	}

	addr, ns := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const queue = "aether-housekeeping-record"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Cleanup, workflow.RegisterOptions{Name: workflows.CleanupWorkflow})
	w.RegisterWorkflowWithOptions(workflows.Rollup, workflow.RegisterOptions{Name: workflows.RollupWorkflow})
	w.RegisterWorkflowWithOptions(workflows.BudgetReset, workflow.RegisterOptions{Name: workflows.BudgetResetWorkflow})
	w.RegisterActivity(fx.acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	suffix := time.Now().Format("20060102150405")
	for _, run := range []struct {
		file, workflow string
		args           []any
	}{
		{"testdata/cleanup.json", workflows.CleanupWorkflow, []any{workflows.CleanupInput{RequestRetention: 90 * 24 * time.Hour, AuditRetention: 30 * 24 * time.Hour, BatchSize: 2}, (*workflows.CleanupResult)(nil)}},
		{"testdata/rollup.json", workflows.RollupWorkflow, nil},
		{"testdata/budget_reset.json", workflows.BudgetResetWorkflow, nil},
	} {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		we, err := c.ExecuteWorkflow(rctx, client.StartWorkflowOptions{ID: run.workflow + "-record-" + suffix, TaskQueue: queue}, run.workflow, run.args...)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if err := we.Get(rctx, nil); err != nil {
			cancel()
			t.Fatalf("%s: %v", run.workflow, err)
		}
		var hist historypb.History
		it := c.GetWorkflowHistory(rctx, we.GetID(), we.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			hist.Events = append(hist.Events, ev)
		}
		cancel()
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&hist)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(run.file, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d events", run.file, len(hist.Events))
	}
}
