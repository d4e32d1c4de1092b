package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
)

// Housekeeping workflow type names; Temporal Schedules start them.
const (
	CleanupWorkflow     = "Cleanup"
	RollupWorkflow      = "Rollup"
	BudgetResetWorkflow = "BudgetReset"
)

var housekeepingActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
	},
}

// CleanupInput sets retention periods and the batch size.
type CleanupInput struct {
	RequestRetention time.Duration
	AuditRetention   time.Duration
	// BatchSize bounds the rows deleted per transaction, so cleanup never
	// holds long locks on the tables the accounting writes to.
	BatchSize int
}

// CleanupResult reports what was deleted.
type CleanupResult struct {
	Deleted map[string]int64
	Batches int
}

// maxBatchesPerRun bounds one run's history; a run that reaches it
// continues as new with the counts so far.
const maxBatchesPerRun = 500

// Cleanup deletes request, attempt and audit rows older than their
// retention, batch by batch.
func Cleanup(ctx workflow.Context, in CleanupInput, soFar *CleanupResult) (CleanupResult, error) {
	res := CleanupResult{Deleted: map[string]int64{}}
	if soFar != nil {
		res = *soFar
	}
	if in.BatchSize <= 0 {
		in.BatchSize = 2000
	}
	now := workflow.Now(ctx)
	ctx = workflow.WithActivityOptions(ctx, housekeepingActivity)
	var a *activities.Activities
	runBatches := 0
	for _, t := range []struct {
		table     string
		retention time.Duration
	}{{"request_attempts", in.RequestRetention}, {"requests", in.RequestRetention}, {"audit_log", in.AuditRetention}} {
		if t.retention <= 0 {
			continue
		}
		for {
			if runBatches >= maxBatchesPerRun {
				return res, workflow.NewContinueAsNewError(ctx, CleanupWorkflow, in, &res)
			}
			runBatches++
			var n int64
			err := workflow.ExecuteActivity(ctx, a.DeleteExpired, activities.DeleteInput{Table: t.table, Before: now.Add(-t.retention), Limit: in.BatchSize}).Get(ctx, &n)
			if err != nil {
				return res, err
			}
			res.Batches++
			res.Deleted[t.table] += n
			if n < int64(in.BatchSize) {
				break
			}
		}
	}
	workflow.GetLogger(ctx).Info("retention cleanup done", "deleted_requests", res.Deleted["requests"],
		"deleted_attempts", res.Deleted["request_attempts"], "deleted_audit", res.Deleted["audit_log"], "batches", res.Batches)
	return res, nil
}

// Rollup sums every finished UTC day not yet rolled up into the daily
// stats table (through yesterday), and again every earlier day whose
// requests changed since it was summed.
func Rollup(ctx workflow.Context) (activities.RollupResult, error) {
	ctx = workflow.WithActivityOptions(ctx, housekeepingActivity)
	var a *activities.Activities
	var res activities.RollupResult
	yesterday := workflow.Now(ctx).UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	err := workflow.ExecuteActivity(ctx, a.RollupDays, activities.RollupInput{Through: yesterday}).Get(ctx, &res)
	return res, err
}

// BudgetReset zeroes the spend of monthly budgets.
func BudgetReset(ctx workflow.Context) (int64, error) {
	ctx = workflow.WithActivityOptions(ctx, housekeepingActivity)
	var a *activities.Activities
	var n int64
	err := workflow.ExecuteActivity(ctx, a.ResetMonthlySpend, workflow.Now(ctx)).Get(ctx, &n)
	return n, err
}
