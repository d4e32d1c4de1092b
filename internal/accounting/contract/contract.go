// Package contract is what the API's shipper and the worker's request
// workflow agree on: the workflow's registered name, its signal and query,
// its input and event payloads, its queryable State, the workflow ID rule,
// and the search attributes and memo set on each request. The shipper
// (internal/accounting) and the workflow (workflows) both import it, so
// the API binary never links the worker's code.
//
// Everything here is wire format: payloads are JSON-encoded by the
// Temporal SDK and recorded in workflow histories (workflows/testdata), so
// field names, the workflow type name and the signal name change only
// together with a migration.
package contract

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"aether/internal/llm"
)

// Names the shipper, the worker and users rely on.
const (
	// RequestWorkflow is the registered workflow type name. The shipper
	// starts workflows by this name, never by the function value.
	RequestWorkflow = "Request"
	// SignalEvents carries later events (first byte, outcome) as Event.
	SignalEvents = "events"
	// QueryState returns the request's current State.
	QueryState = "state"
)

// WorkflowID is the ID of a request's workflow: the request ID itself, a
// UUIDv7 the gateway generates (never the client's X-Request-ID, which is
// the AetherCorrelationID search attribute). One request has at most one
// workflow, and every retry of a start or signal finds the same one.
func WorkflowID(requestID string) string { return requestID }

// Memo keys.
const (
	// MemoSummary is the one-line summary shown in the Temporal UI.
	MemoSummary = "summary"
	// MemoFingerprint holds Fingerprint(meta), set at start.
	MemoFingerprint = "fingerprint"
)

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

// State is what the `state` query and the workflow's result return.
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
		if c, ok := o.Answered(in.Plan); ok {
			st.Provider = c.Provider
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
	if m.WebSocket {
		updates = append(updates, SAWebSocket.ValueSet(true))
	}
	if in.Outcome != nil {
		updates = append(updates, SATotalTokens.ValueSet(st.TotalTokens))
		if st.Provider != "" {
			updates = append(updates, SAProvider.ValueSet(st.Provider))
		}
	}
	return temporal.NewSearchAttributes(updates...), map[string]any{MemoSummary: Summary(st), MemoFingerprint: Fingerprint(m)}
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
