package accounting

import (
	"encoding/json"
	"time"
)

// The checkpoint's bookkeeping: which journal entries are delivered, the
// highest sequence below which all are, and the open requests the
// checkpoint file lists so a restart can close them.

// ackQueue tracks the journal sequences the shipper read, in order, and
// which are delivered, to find the checkpoint: the highest seq below which
// all are delivered. Reads are contiguous, so it is a slice indexed by
// sequence (16 bytes an entry) from the oldest undelivered one; entries
// delivered after it stay until it is.
type ackQueue struct {
	items   []ackItem // items[head:] are base, base+1, …
	head    int
	base    uint64
	acked   uint64 // highest contiguous delivered seq
	unacked int
}

type ackItem struct {
	at   int64 // the event's time, Unix nanoseconds
	done bool
}

func newAckQueue() *ackQueue { return &ackQueue{} }

// push adds seq, the sequence after the last one pushed or later: the
// sequences in between (unreadable records) count as delivered.
func (q *ackQueue) push(seq uint64, at time.Time) {
	if q.head == len(q.items) {
		q.items, q.head, q.base = q.items[:0], 0, seq
	}
	next := q.base + uint64(len(q.items)-q.head)
	if seq < next {
		return // read twice: already counted
	}
	for ; next < seq; next++ {
		q.items = append(q.items, ackItem{done: true})
	}
	q.items = append(q.items, ackItem{at: at.UnixNano()})
	q.unacked++
	q.pop()
}

func (q *ackQueue) ack(seq uint64) {
	if seq < q.base || seq-q.base >= uint64(len(q.items)-q.head) {
		return
	}
	it := &q.items[q.head+int(seq-q.base)]
	if !it.done {
		it.done = true
		q.unacked--
	}
	q.pop()
}

// pop drops the delivered entries at the front.
func (q *ackQueue) pop() {
	for q.head < len(q.items) && q.items[q.head].done {
		q.acked = q.base
		q.head++
		q.base++
	}
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > 1<<16 {
			q.items = nil // let a large backing array go
		}
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		q.items, q.head = q.items[:n], 0
	}
}

// lowWater is the checkpoint to write: every seq up to it is delivered.
func (q *ackQueue) lowWater() uint64 { return q.acked }

func (q *ackQueue) oldest() (time.Time, bool) {
	if q.head == len(q.items) {
		return time.Time{}, false
	}
	return time.Unix(0, q.items[q.head].at), true
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
