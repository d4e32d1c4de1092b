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
	// Durable makes a request wait until its start event is on disk before
	// anything reaches its client, so a request is served only while its
	// record can be kept (fail-closed accounting). The wait overlaps the
	// upstream call: Started returns at once with a wait function. Without
	// it Started only queues the event.
	Durable bool
}

// Started journals a request's start; with Durable it returns once the
// event is on disk (Start, then its wait).
func (r *Recorder) Started(meta llm.RequestMeta, plan []llm.Candidate) error {
	wait, err := r.Start(meta, plan, nil)
	if err != nil || wait == nil {
		return err
	}
	return wait()
}

// Start implements proxy.Recorder. Without Durable it only queues the
// start event and wait is nil. With Durable, wait blocks until the event
// is on disk and returns ErrJournalFailed when its write failed; failed,
// if not nil, is called from the journal's writer as soon as that is
// known, so the caller can cancel the upstream call it made meanwhile.
// failed must not block.
func (r *Recorder) Start(meta llm.RequestMeta, plan []llm.Candidate, failed func(error)) (wait func() error, err error) {
	b, _ := json.Marshal(event{Kind: "started", ID: meta.RequestID, Meta: &meta, Plan: plan})
	if !r.Durable {
		return nil, r.J.Append(b)
	}
	done := make(chan error, 1)
	err = r.J.AppendStart(b, func(err error) {
		if err != nil && failed != nil {
			failed(err)
		}
		done <- err
	})
	if err != nil {
		return nil, err
	}
	var waited bool
	return func() error {
		if !waited {
			err, waited = <-done, true
		}
		return err
	}, nil
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
