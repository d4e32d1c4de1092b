package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/internal/accounting/contract"
	"aether/workflows"
)

// TestReplayRecordedHistories replays histories recorded from a real dev
// server run against the current code: a change that alters the command
// sequence without workflow.GetVersion fails here before it breaks running
// workflows. The request histories come from `make dev` and `temporal
// workflow show -o json`; the housekeeping ones from
// TestRecordHousekeepingHistories.
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range []string{
		"testdata/request_coalesced.json", // ended before shipping: one start, one task
		"testdata/request_signalled.json", // long stream: start, then the end by signal
		"testdata/cleanup.json",           // retention cleanup: five batches over three tables
		"testdata/rollup.json",            // daily rollup of two past days
		"testdata/budget_reset.json",      // monthly budget reset
	} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Request, workflow.RegisterOptions{Name: contract.RequestWorkflow})
			r.RegisterWorkflowWithOptions(workflows.Cleanup, workflow.RegisterOptions{Name: workflows.CleanupWorkflow})
			r.RegisterWorkflowWithOptions(workflows.Rollup, workflow.RegisterOptions{Name: workflows.RollupWorkflow})
			r.RegisterWorkflowWithOptions(workflows.BudgetReset, workflow.RegisterOptions{Name: workflows.BudgetResetWorkflow})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
