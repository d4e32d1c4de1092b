package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"aether/internal/accounting/contract"
)

// TestMemoSummaryHasCost: the Temporal UI's one-line summary of a finished
// request shows its cost, as the README says, whether the request had
// ended before it was shipped (memo set by the start call, issue 8 item
// 14) or ended by signal.
func TestMemoSummaryHasCost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		finished bool
	}{
		{"ended before shipping", true},
		{"ended by signal", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			env := fx.env(t)
			in := fx.input("wf-memo", false)
			if tc.finished {
				in.Outcome = success(fx, 0, in.Meta.ReceivedAt)
			} else {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(contract.SignalEvents, contract.Event{Outcome: success(fx, 0, in.Meta.ReceivedAt)})
				}, time.Second)
			}
			// What the shipper sets in the start call; later upserts
			// replace it.
			_, memo := contract.StartOptions(in)
			summary, _ := memo["summary"].(string)
			if err := env.SetMemoOnStart(memo); err != nil {
				t.Fatal(err)
			}
			env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
				summary, _ = args.Get(0).(map[string]any)["summary"].(string)
			}).Return(nil)
			env.ExecuteWorkflow(contract.RequestWorkflow, in)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			// usage costs $0.011475 at the fixture's prices.
			want := "completed · claude via p1 · 1 attempt(s) · 3600 tokens · $0.011475"
			if summary != want {
				t.Fatalf("memo summary = %q, want %q", summary, want)
			}
		})
	}
}
