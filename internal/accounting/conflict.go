package accounting

import (
	"context"
	"encoding/json"
	"time"

	"go.temporal.io/sdk/converter"

	"aether/internal/accounting/contract"
	"aether/internal/llm"
)

// Request-ID conflicts: an AlreadyStarted answer for a workflow that is not
// this request's own earlier start.

// fingerprint returns the Fingerprint in the memo of the workflow now
// holding id, or "" when it has none.
func (s *Shipper) fingerprint(ctx context.Context, id string) (string, error) {
	d, err := s.c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return "", err
	}
	f := d.Memo.GetFields()[contract.MemoFingerprint]
	if f == nil {
		return "", nil
	}
	var fp string
	if err := converter.GetDefaultDataConverter().FromPayload(f, &fp); err != nil || fp == "" {
		return "?", nil // unreadable: not this request's
	}
	return fp, nil
}

// conflictRecord is what the ERROR line of a conflicting request holds:
// the same IDs, counts and statuses as its journal events.
type conflictRecord struct {
	RequestID   string           `json:"request_id"`
	Meta        *llm.RequestMeta `json:"meta,omitempty"`
	Plan        []llm.Candidate  `json:"plan,omitempty"`
	FirstByteAt time.Time        `json:"first_byte_at,omitzero"`
	Outcome     *llm.Outcome     `json:"outcome,omitempty"`
	Seqs        []uint64         `json:"journal_seqs"`
}

// releaseConflict logs p's first n events as the last-resort record of a
// request whose ID belongs to another request's workflow, and acks them so
// the journal moves on. Callers hold s.mu.
func (s *Shipper) releaseConflict(p *pending, n int) {
	seqs := p.seqs[:n]
	if len(seqs) > 0 {
		rec, _ := json.Marshal(conflictRecord{RequestID: p.id, Meta: p.meta, Plan: p.plan, FirstByteAt: p.firstByte, Outcome: p.outcome, Seqs: seqs})
		s.log.Error("accounting: request ID conflict: a workflow of another request holds this ID; "+
			"these events are NOT recorded in Postgres and are released from the journal (this line is their only record)",
			"request_id", p.id, "fingerprint", contract.Fingerprint(*p.meta), "existing_fingerprint", p.conflictWith, "events", string(rec))
	}
	for _, seq := range seqs {
		s.acks.ack(seq)
	}
	p.seqs = p.seqs[n:]
	if p.outcome != nil {
		for _, seq := range p.seqs {
			s.acks.ack(seq)
		}
		delete(s.reqs, p.id)
	}
}
