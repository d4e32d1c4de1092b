// Package workflows holds Aether's Temporal workflows. Request is one
// workflow per proxied request (workflow ID = request ID): it makes the
// request's accounting durable, retried and queryable.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/internal/llm"
)

// Names users and the shipper rely on.
const (
	// RequestWorkflow is the registered workflow type name.
	RequestWorkflow = "Request"
	// SignalEvents carries later events (first byte, outcome).
	SignalEvents = "events"
	// QueryState returns the request's current State.
	QueryState = "state"
	// DeadlineGrace is added to the request deadline before the workflow
	// gives up on a final event and closes the request as interrupted.
	DeadlineGrace = 30 * time.Second
)

// Search attribute keys (the names are llm.SearchAttributes).
var (
	SAUser        = temporal.NewSearchAttributeKeyKeyword("AetherUser")
	SAAPIKey      = temporal.NewSearchAttributeKeyKeyword("AetherAPIKey")
	SAModel       = temporal.NewSearchAttributeKeyKeyword("AetherModel")
	SAProvider    = temporal.NewSearchAttributeKeyKeyword("AetherProvider")
	SAFormat      = temporal.NewSearchAttributeKeyKeyword("AetherFormat")
	SAStream      = temporal.NewSearchAttributeKeyBool("AetherStream")
	SAStatus      = temporal.NewSearchAttributeKeyKeyword("AetherStatus")
	SACostUSD     = temporal.NewSearchAttributeKeyFloat64("AetherCostUSD")
	SATotalTokens = temporal.NewSearchAttributeKeyInt64("AetherTotalTokens")
	// SACorrelationID is the client's own X-Request-ID, set at start only
	// when the client sent one.
	SACorrelationID = temporal.NewSearchAttributeKeyKeyword("AetherCorrelationID")
)

// MemoFingerprint is the memo key holding Fingerprint(meta), set at start.
const MemoFingerprint = "fingerprint"

// Fingerprint tells one request from another beyond its ID: when a start
// finds the workflow ID taken, the shipper compares the existing
// workflow's fingerprint with its own to tell its own earlier start (a
// shipper run that crashed before its checkpoint) from a workflow of some
// other request. It holds only a time and IDs.
func Fingerprint(m llm.RequestMeta) string {
	return fmt.Sprintf("%d/%d/%d", m.ReceivedAt.UnixNano(), m.UserID, m.APIKeyID)
}

// RequestInput starts a request workflow. When the request already ended
// by the time it is shipped, Outcome is set and the whole record is written
// in one workflow task.
type RequestInput struct {
	Meta        llm.RequestMeta
	Plan        []llm.Candidate
	FirstByteAt time.Time
	Outcome     *llm.Outcome
}

// Event is a later event, delivered by signal. Either field may be set;
// duplicates and late arrivals are ignored.
type Event struct {
	FirstByteAt time.Time
	Outcome     *llm.Outcome
}

// State is what the `state` query returns.
type State struct {
	RequestID   string
	Status      llm.Status
	Model       string
	Provider    string
	Attempts    int
	TotalTokens int64
	CostKnown   bool
	CostUSD     float64
	ErrorClass  llm.ErrorClass
}

// StartState is what the shipper knows of a request when it starts the
// workflow: everything but the cost when the request already ended.
func StartState(in RequestInput) State {
	st := State{RequestID: in.Meta.RequestID, Status: llm.StatusPending, Model: in.Meta.Model}
	if !in.FirstByteAt.IsZero() {
		st.Status = llm.StatusStreaming
	}
	if o := in.Outcome; o != nil {
		st.Status, st.Attempts, st.TotalTokens, st.ErrorClass = o.Status, len(o.Attempts), o.Usage.TotalTokens(), o.ErrorClass
		for _, c := range in.Plan {
			if c.Index == o.CandidateIndex && c.SkippedReason == "" {
				st.Provider = c.Provider
			}
		}
	}
	return st
}

// StartOptions are the search attributes and memo set in the start call
// itself, which costs no workflow task: for a request that already ended,
// all of them but the cost, which only the worker computes.
func StartOptions(in RequestInput) (temporal.SearchAttributes, map[string]any) {
	m, st := in.Meta, StartState(in)
	updates := []temporal.SearchAttributeUpdate{
		SAUser.ValueSet(m.User),
		SAAPIKey.ValueSet(fmt.Sprintf("%d", m.APIKeyID)),
		SAModel.ValueSet(m.Model),
		SAFormat.ValueSet(string(m.Format)),
		SAStream.ValueSet(m.Stream),
		SAStatus.ValueSet(string(st.Status)),
	}
	if m.CorrelationID != "" {
		updates = append(updates, SACorrelationID.ValueSet(m.CorrelationID))
	}
	if in.Outcome != nil {
		updates = append(updates, SATotalTokens.ValueSet(st.TotalTokens))
		if st.Provider != "" {
			updates = append(updates, SAProvider.ValueSet(st.Provider))
		}
	}
	return temporal.NewSearchAttributes(updates...), map[string]any{"summary": Summary(st), MemoFingerprint: Fingerprint(m)}
}

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
func Request(ctx workflow.Context, in RequestInput) (State, error) {
	st := State{RequestID: in.Meta.RequestID, Status: llm.StatusPending, Model: in.Meta.Model}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return st, nil }); err != nil {
		return st, err
	}
	firstByte, outcome := in.FirstByteAt, in.Outcome
	merge := func(ev Event) {
		if firstByte.IsZero() && !ev.FirstByteAt.IsZero() {
			firstByte = ev.FirstByteAt
		}
		if outcome == nil && ev.Outcome != nil {
			outcome = ev.Outcome
		}
	}
	events := workflow.GetSignalChannel(ctx, SignalEvents)
	drain := func() {
		for {
			var ev Event
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
				var ev Event
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
				_ = workflow.UpsertTypedSearchAttributes(ctx, SAStatus.ValueSet(string(llm.StatusStreaming)))
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
	coalesced := in.Outcome != nil && StartState(in).Status == res.Status
	var updates []temporal.SearchAttributeUpdate
	if !coalesced {
		updates = append(updates, SAStatus.ValueSet(string(res.Status)), SATotalTokens.ValueSet(res.TotalTokens))
		if res.Provider != "" {
			updates = append(updates, SAProvider.ValueSet(res.Provider))
		}
	}
	if res.CostKnown {
		updates = append(updates, SACostUSD.ValueSet(res.CostUSD))
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
		if err := workflow.UpsertMemo(ctx, map[string]any{"summary": Summary(st)}); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Summary is the one-line memo shown in the Temporal UI. A final summary
// shows the cost when the model has a price; the cost is also in the
// AetherCostUSD search attribute.
func Summary(st State) string {
	s := fmt.Sprintf("%s · %s", st.Status, st.Model)
	if st.Provider != "" {
		s += " via " + st.Provider
	}
	if !st.Status.Final() {
		return s
	}
	s += fmt.Sprintf(" · %d attempt(s) · %d tokens", st.Attempts, st.TotalTokens)
	if st.CostKnown {
		s += fmt.Sprintf(" · $%.6f", st.CostUSD)
	}
	if st.ErrorClass != "" {
		s += " · " + string(st.ErrorClass)
	}
	return s
}
