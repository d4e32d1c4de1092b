// Package workflows holds Aether's Temporal workflows. Request is one
// workflow per proxied request (its ID is contract.WorkflowID, the request
// ID): it makes the request's accounting durable, retried and queryable.
// Its name, payloads and search attributes are the accounting contract
// (internal/accounting/contract), which the API's shipper shares.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/internal/accounting/contract"
	"aether/internal/llm"
)

// DeadlineGrace is added to the request deadline before the workflow gives
// up on a final event and closes the request as interrupted.
const DeadlineGrace = 30 * time.Second

var localActivity = workflow.LocalActivityOptions{
	StartToCloseTimeout: 15 * time.Second,
	// The SDK bounds all retries by ScheduleToClose, which defaults to
	// StartToClose: a 30-second database outage would then fail the
	// workflow and lose the record. Retry for as long as it takes.
	ScheduleToCloseTimeout: 30 * 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    15 * time.Second,
		// No attempt limit: a database outage delays the record, never
		// loses it. Only invalid input stops retrying.
		MaximumAttempts:        0,
		NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
	},
}

// Request records one proxied request.
func Request(ctx workflow.Context, in contract.RequestInput) (contract.State, error) {
	st := contract.State{RequestID: in.Meta.RequestID, Status: llm.StatusPending, Model: in.Meta.Model}
	if err := workflow.SetQueryHandler(ctx, contract.QueryState, func() (contract.State, error) { return st, nil }); err != nil {
		return st, err
	}
	firstByte, outcome := in.FirstByteAt, in.Outcome
	merge := func(ev contract.Event) {
		if firstByte.IsZero() && !ev.FirstByteAt.IsZero() {
			firstByte = ev.FirstByteAt
		}
		if outcome == nil && ev.Outcome != nil {
			outcome = ev.Outcome
		}
	}
	events := workflow.GetSignalChannel(ctx, contract.SignalEvents)
	drain := func() {
		for {
			var ev contract.Event
			if !events.ReceiveAsync(&ev) {
				return
			}
			merge(ev)
		}
	}
	drain()
	lctx := workflow.WithLocalActivityOptions(ctx, localActivity)
	var a *activities.Activities

	if outcome == nil {
		// The request is still running: record it as pending or streaming,
		// then wait for its end, but not past its deadline.
		recorded := llm.StatusPending
		if !firstByte.IsZero() {
			recorded = llm.StatusStreaming
		}
		if err := workflow.ExecuteLocalActivity(lctx, a.RecordProgress, activities.ProgressInput{
			Meta: in.Meta, Plan: in.Plan, Status: recorded, FirstByteAt: firstByte,
		}).Get(lctx, nil); err != nil {
			return st, err
		}
		st.Status = recorded
		tctx, cancelTimer := workflow.WithCancel(ctx)
		deadline := workflow.NewTimer(tctx, max(in.Meta.Deadline.Add(DeadlineGrace).Sub(workflow.Now(ctx)), time.Second))
		expired := false
		for outcome == nil && !expired {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
				var ev contract.Event
				c.Receive(ctx, &ev)
				merge(ev)
			})
			sel.AddFuture(deadline, func(workflow.Future) { expired = true })
			sel.Select(ctx)
			drain()
			if outcome == nil && !firstByte.IsZero() && recorded == llm.StatusPending {
				if err := workflow.ExecuteLocalActivity(lctx, a.RecordProgress, activities.ProgressInput{
					Meta: in.Meta, Plan: in.Plan, Status: llm.StatusStreaming, FirstByteAt: firstByte,
				}).Get(lctx, nil); err != nil {
					return st, err
				}
				recorded, st.Status = llm.StatusStreaming, llm.StatusStreaming
				_ = workflow.UpsertTypedSearchAttributes(ctx, contract.SAStatus.ValueSet(string(llm.StatusStreaming)))
			}
		}
		cancelTimer()
		if outcome == nil {
			// No final event before the deadline: the process that served
			// the request is gone. Close it instead of leaving it pending.
			now := workflow.Now(ctx)
			outcome = &llm.Outcome{
				Status: llm.StatusFailed, ErrorClass: llm.ErrInterrupted, CandidateIndex: -1,
				ErrorMessage: "no final event before the request deadline", FinishedAt: now, Total: now.Sub(in.Meta.ReceivedAt),
			}
		}
	}
	var res activities.FinalResult
	if err := workflow.ExecuteLocalActivity(lctx, a.RecordFinal, activities.FinalInput{
		Meta: in.Meta, Plan: in.Plan, FirstByteAt: firstByte, Outcome: *outcome,
	}).Get(lctx, &res); err != nil {
		return st, err
	}
	st.Status, st.Provider, st.Attempts = res.Status, res.Provider, len(outcome.Attempts)
	st.TotalTokens, st.CostKnown, st.CostUSD, st.ErrorClass = res.TotalTokens, res.CostKnown, res.CostUSD, outcome.ErrorClass
	// A request that had ended when it was shipped got its status,
	// provider, tokens and summary in the start call (StartOptions): only
	// the cost is new. Otherwise everything final is upserted here.
	coalesced := in.Outcome != nil && contract.StartState(in).Status == res.Status
	var updates []temporal.SearchAttributeUpdate
	if !coalesced {
		updates = append(updates, contract.SAStatus.ValueSet(string(res.Status)), contract.SATotalTokens.ValueSet(res.TotalTokens))
		if res.Provider != "" {
			updates = append(updates, contract.SAProvider.ValueSet(res.Provider))
		}
	}
	if res.CostKnown {
		updates = append(updates, contract.SACostUSD.ValueSet(res.CostUSD))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			return st, err
		}
	}
	// The start call's summary has no cost (only the worker prices a
	// request): rewrite it once the cost is known (issue 8, item 14).
	// Versioned: histories recorded before it have no memo command here.
	memo := !coalesced || res.CostKnown && workflow.GetVersion(ctx, "memo-cost", workflow.DefaultVersion, 1) == 1
	if memo {
		if err := workflow.UpsertMemo(ctx, map[string]any{contract.MemoSummary: contract.Summary(st)}); err != nil {
			return st, err
		}
	}
	return st, nil
}
