package accounting

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
)

// Reader reads the journal's durable entries back from its segment files,
// in sequence order, a bounded batch at a time. The shipper reads through
// one only as deliveries make room, so a backlog of any size stays on disk
// (issue 11): memory holds one batch and a read buffer, whatever waits.
//
// A segment holds the sequences from its name up to the next segment's
// name; a record at or past that (left by a write that failed and could
// not be undone before the writer rolled) is never read. A torn or corrupt
// record ends its segment: the reader goes on with the next one, and the
// entries it skipped are counted in Skipped.
type Reader struct {
	j     *Journal
	next  uint64
	f     *os.File
	first uint64 // the open segment's first sequence
	off   int64  // where the record of next (or an earlier one) starts
	br    *bufio.Reader
	// Skipped counts sequences passed over: unreadable records.
	Skipped uint64
}

// NewReader returns a reader positioned at sequence from.
func (j *Journal) NewReader(from uint64) *Reader {
	return &Reader{j: j, next: max(from, 1), br: bufio.NewReaderSize(nil, 256<<10)}
}

// Next returns the sequence the next Read starts at.
func (r *Reader) Next() uint64 { return r.next }

// Read returns up to n durable entries from Next on, in order; none once
// it has caught up with the disk.
func (r *Reader) Read(n int) ([]Entry, error) {
	durable := r.j.durable.Load()
	var out []Entry
	positioned, end := false, uint64(0)
	for len(out) < n && r.next <= durable {
		if r.f == nil {
			if err := r.open(); err != nil {
				return out, err
			}
		}
		if !positioned {
			// Read-ahead from an earlier call may hold bytes a failed
			// write left past the durable end; start from the file.
			r.br.Reset(io.NewSectionReader(r.f, r.off, math.MaxInt64-r.off))
			// A roll after this point starts past durable.
			positioned, end = true, r.j.segmentAfter(r.first)
		}
		e, size, ok := readRecord(r.br)
		if ok && e.Seq < end {
			r.off += size
			if e.Seq >= r.next {
				out = append(out, e)
				r.next = e.Seq + 1
			}
			continue
		}
		if end == math.MaxUint64 {
			// The writer stores the durable mark after its fsync, so the
			// last segment holds every durable entry unless it is damaged.
			return out, fmt.Errorf("journal: entry %d is durable but unreadable in segment %d", r.next, r.first)
		}
		_ = r.f.Close()
		r.f, positioned = nil, false
		if end > r.next {
			r.Skipped += end - r.next
			r.next = end
		}
	}
	return out, nil
}

// open opens the segment holding next.
func (r *Reader) open() error {
	r.j.segMu.Lock()
	first, found := uint64(0), false
	for _, s := range r.j.segments {
		if s <= r.next || !found {
			first, found = s, true // the first one after next only when none is at or before it
		}
		if s > r.next {
			break
		}
	}
	r.j.segMu.Unlock()
	if !found {
		return fmt.Errorf("journal: no segment holds entry %d", r.next)
	}
	if first > r.next {
		r.Skipped += first - r.next
		r.next = first
	}
	f, err := os.Open(segmentPath(r.j.cfg.Dir, first))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r.f, r.first, r.off = f, first, 0
	return nil
}

// Close releases the open segment file.
func (r *Reader) Close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// segmentAfter returns the first sequence of the segment after the one
// starting at first: where that one's entries end. It is MaxUint64 for
// the last segment.
func (j *Journal) segmentAfter(first uint64) uint64 {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	for _, s := range j.segments {
		if s > first {
			return s
		}
	}
	return math.MaxUint64
}
