package accounting

import (
	"encoding/json"
	"time"
)

// The checkpoint's bookkeeping: which journal entries are delivered, the
// highest sequence below which all are, and the open requests the
// checkpoint file lists so a restart can close them.

// ackQueue tracks journal sequence numbers in arrival (ascending) order and
// which are delivered, to find the checkpoint: the highest seq below which
// all are delivered.
type ackQueue struct {
	items   []ackItem
	index   map[uint64]int // seq -> position offset by base
	base    int
	acked   uint64 // highest contiguous delivered seq
	unacked int
}

type ackItem struct {
	seq  uint64
	at   time.Time
	done bool
}

func newAckQueue() *ackQueue { return &ackQueue{index: map[uint64]int{}} }

func (q *ackQueue) push(seq uint64, at time.Time) {
	q.index[seq] = q.base + len(q.items)
	q.items = append(q.items, ackItem{seq: seq, at: at})
	q.unacked++
}

func (q *ackQueue) ack(seq uint64) {
	i, ok := q.index[seq]
	if !ok {
		return
	}
	it := &q.items[i-q.base]
	if !it.done {
		it.done = true
		q.unacked--
	}
	for len(q.items) > 0 && q.items[0].done {
		q.acked = q.items[0].seq
		delete(q.index, q.items[0].seq)
		q.items = q.items[1:]
		q.base++
	}
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	}
}

// lowWater is the checkpoint to write: every seq up to it is delivered.
func (q *ackQueue) lowWater() uint64 { return q.acked }

func (q *ackQueue) oldest() (time.Time, bool) {
	if len(q.items) == 0 {
		return time.Time{}, false
	}
	return q.items[0].at, true
}

// checkpoint advances the journal's shipped mark to just below the oldest
// undelivered entry, and records with it the requests whose start was
// delivered but whose end was not: entries below the mark are never read
// again, so a restart learns from this list which requests were open. It
// writes only when the mark or the list changed.
func (s *Shipper) checkpoint() {
	s.mu.Lock()
	low := s.acks.lowWater()
	var n int
	var sum uint64
	for _, p := range s.reqs {
		if isOpen(p) {
			n++
			sum ^= openHash(p)
		}
	}
	if low == 0 || low == s.ckLow && n == s.ckOpen && sum == s.ckSum {
		s.mu.Unlock()
		return
	}
	open := make([][]byte, 0, n)
	for _, p := range s.reqs {
		if isOpen(p) {
			o := openRecord{ID: p.id, FirstByte: p.firstByte}
			if p.meta != nil {
				o.Received = p.meta.ReceivedAt
			}
			b, _ := json.Marshal(o)
			open = append(open, b)
		}
	}
	s.mu.Unlock()
	if err := s.j.Shipped(low, open); err != nil {
		s.log.Error("accounting: cannot write journal checkpoint", "error", err)
		return
	}
	s.mu.Lock()
	s.ckLow, s.ckOpen, s.ckSum = low, n, sum
	s.mu.Unlock()
}

// isOpen reports whether p's workflow runs without its end: a restart
// must close it. A request whose ID belongs to another request's workflow
// is never signalled (see ship). Callers hold s.mu.
func isOpen(p *pending) bool { return p.started && p.conflictWith == "" }

// openRecord is the checkpoint's line for an open request: what closing
// it as interrupted needs (IDs and times only).
type openRecord struct {
	ID        string    `json:"id"`
	Received  time.Time `json:"received"`
	FirstByte time.Time `json:"first_byte,omitzero"`
}

// openHash fingerprints an open request's record for checkpoint's change
// detection (FNV-1a of the ID, and whether the first byte is known).
func openHash(p *pending) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(p.id); i++ {
		h = (h ^ uint64(p.id[i])) * 1099511628211
	}
	if !p.firstByte.IsZero() {
		h = (h ^ 1) * 1099511628211
	}
	return h
}
