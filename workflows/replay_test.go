package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/internal/accounting/contract"
	"aether/workflows"
)

// TestReplayRecordedHistories replays histories recorded from a real dev
// server run (`make dev`, then `temporal workflow show -o json`) against the
// current code: a change that alters the command sequence without
// workflow.GetVersion fails here before it breaks running workflows.
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range []string{
		"testdata/request_coalesced.json", // ended before shipping: one start, one task
		"testdata/request_signalled.json", // long stream: start, then the end by signal
	} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Request, workflow.RegisterOptions{Name: contract.RequestWorkflow})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
