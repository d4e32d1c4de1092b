package workflows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/workflows"
)

// TestCleanupDeletesInBoundedBatches seeds more expired rows than one
// batch holds, plus recent rows, and runs the cleanup workflow with real
// Postgres activities: old rows go, recent rows stay, and no single
// activity deleted more than the batch size.
func TestCleanupDeletesInBoundedBatches(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	old := time.Now().Add(-100 * 24 * time.Hour)
	if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO requests (request_id, model, api_format, status, created_at)
		SELECT 'old-' || g, 'claude', 'anthropic', 'completed', $1 FROM generate_series(1, 2500) g`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO request_attempts (request_id, seq, candidate_index, outcome, created_at)
		SELECT 'old-' || g, 0, 0, 'success', $1 FROM generate_series(1, 2500) g`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO audit_log (at, event, actor) SELECT $1, 'request_completed', 'test' FROM generate_series(1, 1200)`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO requests (request_id, model, api_format, status, created_at)
		SELECT 'new-' || g, 'claude', 'anthropic', 'completed', now() FROM generate_series(1, 30) g`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var batches []int64
	fx.acts.DeletedHook = func(_ string, n int64) { mu.Lock(); batches = append(batches, n); mu.Unlock() }

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Cleanup, workflow.RegisterOptions{Name: workflows.CleanupWorkflow})
	env.RegisterActivity(fx.acts)
	env.ExecuteWorkflow(workflows.CleanupWorkflow, workflows.CleanupInput{RequestRetention: 90 * 24 * time.Hour, AuditRetention: 30 * 24 * time.Hour, BatchSize: 1000}, (*workflows.CleanupResult)(nil))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.CleanupResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Deleted["requests"] != 2500 || res.Deleted["request_attempts"] != 2500 || res.Deleted["audit_log"] != 1200 {
		t.Fatalf("deleted %v", res.Deleted)
	}
	for _, n := range batches {
		if n > 1000 {
			t.Fatalf("a batch deleted %d rows (limit 1000): %v", n, batches)
		}
	}
	// 2500 attempts, 2500 requests, 1200 audit rows at 1000 per batch:
	// 3 + 3 + 2 batches.
	if len(batches) != 8 {
		t.Fatalf("%d batches for 6200 rows at 1000 each: %v", len(batches), batches)
	}
	var left, recent int
	if err := fx.st.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE request_id LIKE 'old-%'), count(*) FILTER (WHERE request_id LIKE 'new-%') FROM requests`).Scan(&left, &recent); err != nil {
		t.Fatal(err)
	}
	if left != 0 || recent != 30 {
		t.Fatalf("after cleanup: %d old, %d recent requests", left, recent)
	}
}

func TestRollupAndBudgetReset(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	for i := range 4 {
		if _, err := fx.st.Pool.Exec(ctx, `INSERT INTO requests (request_id, user_id, model, provider, api_format, status, created_at, total_tokens, total_cost_usd)
			VALUES ($1, $2, 'claude', 'p1', 'anthropic', $3, $4, 100, 0.5)`, fmt.Sprintf("r-%d", i), fx.userID,
			map[bool]string{true: "failed", false: "completed"}[i == 0], day.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Rollup, workflow.RegisterOptions{Name: workflows.RollupWorkflow})
	env.RegisterActivity(fx.acts)
	env.ExecuteWorkflow(workflows.RollupWorkflow)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res activities.RollupResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Days) != 2 || res.Days[0] != day.Format(time.DateOnly) {
		t.Fatalf("rolled up days %v", res.Days)
	}
	var requests, failed int64
	var cost string
	if err := fx.st.Pool.QueryRow(ctx, `SELECT requests, failed, cost_usd::text FROM request_stats_daily WHERE day = $1::date AND model = 'claude'`, day).Scan(&requests, &failed, &cost); err != nil {
		t.Fatal(err)
	}
	if requests != 4 || failed != 1 || cost != "2.000000000000" {
		t.Fatalf("rollup %d requests %d failed cost %s", requests, failed, cost)
	}
	// Deleting the raw rows keeps the day in the aggregates.
	if _, err := fx.st.Pool.Exec(ctx, `DELETE FROM requests`); err != nil {
		t.Fatal(err)
	}
	aggs, err := fx.st.Aggregates(ctx, "model", day.AddDate(0, 0, -1), time.Now())
	if err != nil || len(aggs) != 1 || aggs[0].Requests != 4 {
		t.Fatalf("aggregates from the rollup: %+v %v", aggs, err)
	}

	// Monthly budgets restart at zero, once per month.
	if _, err := fx.st.Pool.Exec(ctx, `UPDATE users SET budget_usd = 10, budget_period = 'monthly', spend_usd = 7 WHERE id = $1`, fx.userID); err != nil {
		t.Fatal(err)
	}
	env2 := s.NewTestWorkflowEnvironment()
	env2.RegisterWorkflowWithOptions(workflows.BudgetReset, workflow.RegisterOptions{Name: workflows.BudgetResetWorkflow})
	env2.RegisterActivity(fx.acts)
	env2.ExecuteWorkflow(workflows.BudgetResetWorkflow)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.Pool.Exec(ctx, `UPDATE users SET spend_usd = 1 WHERE id = $1`, fx.userID); err != nil {
		t.Fatal(err)
	}
	if n, err := fx.acts.ResetMonthlySpend(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("a second reset in the same month reset %d rows (%v)", n, err)
	}
}
