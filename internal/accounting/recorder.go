package accounting

import (
	"encoding/json"
	"time"

	"aether/internal/llm"
)

// event is one journal entry: a request's start, first byte, or end. It
// holds IDs, counts and statuses only, never a body or a key.
type event struct {
	Kind    string           `json:"k"` // started, first_byte, finished
	ID      string           `json:"id"`
	Meta    *llm.RequestMeta `json:"meta,omitempty"`
	Plan    []llm.Candidate  `json:"plan,omitempty"`
	At      time.Time        `json:"at,omitzero"`
	Outcome *llm.Outcome     `json:"out,omitempty"`
}

// Recorder implements proxy.Recorder on a Journal.
type Recorder struct {
	J *Journal
	// Durable makes Started wait until the start event is on disk, so a
	// request is served only while its record can be kept (fail-closed
	// accounting). It costs the request one group commit before the
	// upstream is called. Without it Started only queues the event.
	Durable bool
}

// Started implements proxy.Recorder.
func (r *Recorder) Started(meta llm.RequestMeta, plan []llm.Candidate) error {
	b, _ := json.Marshal(event{Kind: "started", ID: meta.RequestID, Meta: &meta, Plan: plan})
	if r.Durable {
		return r.J.AppendDurable(b)
	}
	return r.J.Append(b)
}

// FirstByte implements proxy.Recorder. An event the journal cannot take
// any more (it closed) is logged in full by the journal itself.
func (r *Recorder) FirstByte(id string, at time.Time) {
	b, _ := json.Marshal(event{Kind: "first_byte", ID: id, At: at})
	_ = r.J.AppendFollowUp(b)
}

// Finished implements proxy.Recorder.
func (r *Recorder) Finished(id string, out llm.Outcome) {
	b, _ := json.Marshal(event{Kind: "finished", ID: id, Outcome: &out})
	_ = r.J.AppendFollowUp(b)
}
