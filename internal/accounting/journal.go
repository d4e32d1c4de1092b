package accounting

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The journal is an append-only log of accounting events in segment files.
// Appends are queued and written by one goroutine in batches, each batch
// one write and one fsync (group commit), so many concurrent requests share
// the cost of a disk flush. Entries carry a sequence number; a checkpoint
// file records the highest sequence below which everything was shipped,
// together with the requests still open at that point (see the package
// documentation), and segments wholly below it are deleted.
//
// Why not tidwall/wal: it refuses to open a log whose last entry is torn
// (a crash mid-write) and keeps no checksums; an accounting journal must
// recover from both by itself. The format here is small:
//
//	record  = length uint32 | crc32c(payload) uint32 | payload
//	payload = seq uint64 | event bytes
//
// A torn or corrupt tail is truncated at start-up; everything before it is
// kept. The checkpoint file is text: the shipped sequence on the first
// line, then one open request per line, written to shipped.tmp, synced and
// renamed over the old one.

const (
	segmentSuffix  = ".seg"
	checkpointName = "shipped"
	tmpSuffix      = ".tmp"
	recordHeader   = 8
	maxRecord      = 4 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrJournalFailed is returned by Append while the journal cannot write
// (disk full, I/O error), while too many events wait for the disk, and
// after Close; the caller decides whether to serve anyway.
var ErrJournalFailed = errors.New("accounting journal cannot write")

// File is what the journal writes through: *os.File in production, a
// failing file in tests of a full or broken disk.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
	Close() error
}

// JournalConfig configures a Journal.
type JournalConfig struct {
	Dir string
	// SegmentBytes rolls to a new segment file past this size (default 16
	// MiB). Disk use is about two segments plus whatever is not shipped.
	SegmentBytes int64
	// ReclaimBytes rolls the current segment early once everything in it
	// is shipped and it holds at least this much (default the smaller of
	// 1 MiB and SegmentBytes), so a quiet, fully shipped journal shrinks.
	ReclaimBytes int64
	// MaxBytes caps the journal's segment files on disk (0: no cap). At
	// the cap, start events are refused until shipped segments are
	// deleted; later events of accepted requests are always written.
	MaxBytes int64
	// MaxBatch bounds one group commit (default 512 entries).
	MaxBatch int
	// MaxUnwritten bounds the events waiting for the disk: past it, start
	// events are refused (default 65536). Later events of accepted
	// requests are always taken, so this and the number of requests in
	// flight bound the memory.
	MaxUnwritten int
	// CloseRetry is how long Close keeps retrying a write the disk refuses
	// before it logs the events as lost (default 3s).
	CloseRetry time.Duration
	// NoSync skips fsync: only for benchmarks that measure everything else.
	NoSync bool
	// Log receives the last-resort record of events that could not be
	// written. Nil: slog.Default().
	Log *slog.Logger
	// OpenFile opens segment and checkpoint files for writing. Nil: os.OpenFile.
	OpenFile func(name string, flag int, perm os.FileMode) (File, error)
}

// Entry is one durable journal entry.
type Entry struct {
	Seq  uint64
	Data []byte
}

// queued is an event waiting for the disk. done is set for a start event
// whose caller wants to know when it is durable; it is called exactly once,
// from the writer goroutine (or Close), and must not block.
type queued struct {
	data []byte
	done func(error)
}

// Journal is the durable local queue between the proxy and the shipper.
type Journal struct {
	cfg JournalConfig
	log *slog.Logger
	// durable is the highest sequence on disk; written is signalled (never
	// blocking the writer) each time it grows. Readers read the segment
	// files up to it (see Reader), so entries wait on disk, not in memory.
	durable atomic.Uint64
	written chan struct{}

	// mu guards the queue and the state appenders read (the hot path).
	mu        sync.Mutex
	wake      *sync.Cond
	queue     []queued // waiting events are queue[qhead:]
	qhead     int
	unwritten int   // events accepted and not yet on disk or given up
	failed    error // the last write's error; nil once a write succeeds
	closed    bool
	closedAt  time.Time
	reclaim   bool // the shipper caught up: the writer may roll early
	stats     JournalStats

	// Owned by the writer goroutine (and by recover and Close around it).
	seg       File
	segSize   int64
	segFirst  uint64 // first seq the current segment may hold
	segBroken bool   // a failed write could not be undone: roll first
	nextSeq   uint64

	// segMu guards the segment list and serialises checkpoint writes.
	segMu    sync.Mutex
	segments []uint64 // first seq of each segment, ascending
	shipped  atomic.Uint64
	// diskBytes is the size of every segment file: added by the writer,
	// subtracted when a shipped segment is deleted.
	diskBytes atomic.Int64

	closing chan struct{}
	done    chan struct{}
	// recoveredThrough is the last sequence a previous run wrote: the
	// entries after the checkpoint up to it are that run's backlog.
	recoveredThrough uint64
	recoveredOpen    [][]byte
	// lock holds the directory's lock (dirlock.go) until Close.
	lock *os.File
}

// JournalStats are exported as metrics.
type JournalStats struct {
	Appended, Written, Fsyncs uint64
	WriteErrors               uint64
	// Refused counts start events refused because the journal was failing
	// or too far behind.
	Refused uint64
	// Unwritten is the number of events accepted but not on disk yet.
	Unwritten int
	// Lost counts events the disk refused until shutdown; each was logged
	// in full at ERROR.
	Lost uint64
	// Bytes is the size of the journal's segment files on disk.
	Bytes int64
}

// OpenJournal opens (creating if needed) the journal in cfg.Dir, repairs a
// torn tail, and starts the writer. It reads only the checkpoint and the
// last segment: the entries after the checkpoint stay on disk for a Reader.
func OpenJournal(cfg JournalConfig) (*Journal, error) {
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 16 << 20
	}
	if cfg.ReclaimBytes <= 0 {
		cfg.ReclaimBytes = min(1<<20, cfg.SegmentBytes)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.MaxUnwritten <= 0 {
		cfg.MaxUnwritten = 65536
	}
	if cfg.CloseRetry <= 0 {
		cfg.CloseRetry = 3 * time.Second
	}
	if cfg.OpenFile == nil {
		cfg.OpenFile = func(name string, flag int, perm os.FileMode) (File, error) { return os.OpenFile(name, flag, perm) }
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{cfg: cfg, log: cmpLogger(cfg.Log), written: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{}), nextSeq: 1}
	j.wake = sync.NewCond(&j.mu)
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.lock = lock
	if err := j.recover(); err != nil {
		if j.seg != nil {
			_ = j.seg.Close()
		}
		j.unlock()
		return nil, fmt.Errorf("journal: %w", err)
	}
	go j.writer()
	return j, nil
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// RecoveredThrough returns the last sequence written before this open:
// the entries after ShippedSeq up to it are a previous run's backlog.
func (j *Journal) RecoveredThrough() uint64 { return j.recoveredThrough }

// RecoveredOpen returns the open-request records of the checkpoint found
// at open (see Shipped).
func (j *Journal) RecoveredOpen() [][]byte { return j.recoveredOpen }

// ShippedSeq returns the checkpoint: every entry up to it was delivered.
func (j *Journal) ShippedSeq() uint64 { return j.shipped.Load() }

// DurableSeq returns the highest sequence on disk.
func (j *Journal) DurableSeq() uint64 { return j.durable.Load() }

// Written is signalled whenever DurableSeq grows. It holds one signal at
// most and is never closed: a reader that was busy finds one waiting.
func (j *Journal) Written() <-chan struct{} { return j.written }

// Append queues the start event of a request and returns without waiting
// for the disk. It refuses (ErrJournalFailed) while the journal is failing
// to write, when too many events wait for the disk, and after Close, so a
// new request can be refused (fail-closed) rather than served unrecorded.
// While failing, one start is let through whenever nothing else waits for
// the disk: it is the probe that finds the disk working again.
func (j *Journal) Append(data []byte) error { return j.enqueue(data, true, nil) }

// AppendDurable queues the start event of a request and waits until it is
// on disk (one group commit, usually one fsync). It returns
// ErrJournalFailed when the write failed; the event is then dropped, so a
// refused request leaves no record behind.
func (j *Journal) AppendDurable(data []byte) error {
	done := make(chan error, 1)
	if err := j.AppendStart(data, func(err error) { done <- err }); err != nil {
		return err
	}
	return <-done
}

// AppendStart queues the start event of a request like Append and calls
// done exactly once, from the writer goroutine, with nil when the event is
// on disk or ErrJournalFailed when its write failed (the event is then
// dropped, as AppendDurable's). done must not block. It lets the caller
// work while the event is written and still learn at once when it failed
// (fail-closed accounting overlaps the upstream call with the write).
// done is not called when AppendStart returns an error.
func (j *Journal) AppendStart(data []byte, done func(error)) error {
	return j.enqueue(data, true, done)
}

// AppendFollowUp queues a later event of a request already accepted. It
// never waits and never refuses while the journal is open: the writer
// retries a failing disk until it accepts the event, because dropping the
// end of an accepted request would lose its record. After Close the event
// is logged in full at ERROR as the last-resort record, counted as lost,
// and ErrJournalFailed is returned.
func (j *Journal) AppendFollowUp(data []byte) error { return j.enqueue(data, false, nil) }

func (j *Journal) enqueue(data []byte, start bool, done func(error)) error {
	j.mu.Lock()
	if j.closed {
		if !start {
			j.loseLocked([]queued{{data: data}}, "appended after the journal closed", false)
		}
		j.mu.Unlock()
		return fmt.Errorf("%w: closed", ErrJournalFailed)
	}
	if start {
		var err error
		switch {
		case j.failed != nil && j.unwritten > 0:
			err = fmt.Errorf("%w: %v", ErrJournalFailed, j.failed)
		case j.unwritten >= j.cfg.MaxUnwritten:
			err = fmt.Errorf("%w: %d events wait for the disk", ErrJournalFailed, j.unwritten)
		case j.cfg.MaxBytes > 0 && j.diskBytes.Load() >= j.cfg.MaxBytes:
			err = fmt.Errorf("%w: the journal holds %d bytes, its cap", ErrJournalFailed, j.diskBytes.Load())
		}
		if err != nil {
			j.stats.Refused++
			j.mu.Unlock()
			return err
		}
	}
	if j.qhead > 0 && len(j.queue) == cap(j.queue) {
		// Reuse the space the writer took from the front.
		n := copy(j.queue, j.queue[j.qhead:])
		clear(j.queue[n:])
		j.queue, j.qhead = j.queue[:n], 0
	}
	j.queue = append(j.queue, queued{data: data, done: done})
	j.unwritten++
	j.stats.Appended++
	j.mu.Unlock()
	j.wake.Signal()
	return nil
}

// retryDelay spaces out writes while the disk refuses them.
func retryDelay(failures int) time.Duration {
	return min(time.Duration(failures)*100*time.Millisecond, time.Second)
}

// writer is the single goroutine that owns the segment file.
func (j *Journal) writer() {
	defer close(j.done)
	var batch []queued
	var buf []byte
	failures := 0
	var retryAt time.Time
	for {
		j.mu.Lock()
		for len(batch) == 0 && len(j.queue) == j.qhead && !j.closed && !j.reclaim {
			j.wake.Wait()
		}
		if room := j.cfg.MaxBatch - len(batch); room > 0 && len(j.queue) > j.qhead {
			n := min(room, len(j.queue)-j.qhead)
			batch = append(batch, j.queue[j.qhead:j.qhead+n]...)
			clear(j.queue[j.qhead : j.qhead+n])
			j.qhead += n
			if j.qhead == len(j.queue) {
				j.queue, j.qhead = j.queue[:0], 0
			}
		}
		closed, closedAt, reclaim := j.closed, j.closedAt, j.reclaim
		j.reclaim = false
		j.mu.Unlock()

		if len(batch) == 0 {
			if closed {
				return
			}
			if reclaim && failures == 0 {
				j.reclaimSpace()
			}
			continue
		}
		if wait := time.Until(retryAt); failures > 0 && wait > 0 {
			if closed {
				time.Sleep(wait)
			} else {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-j.closing: // retry at once, then on the closing clock
					t.Stop()
				}
			}
		}
		buf = buf[:0]
		for i, q := range batch {
			buf = appendRecord(buf, Entry{Seq: j.nextSeq + uint64(i), Data: q.data})
		}
		err := j.writeBatch(buf)
		if err == nil {
			j.nextSeq += uint64(len(batch))
			j.durable.Store(j.nextSeq - 1)
			select {
			case j.written <- struct{}{}:
			default: // a signal already waits
			}
			j.mu.Lock()
			if j.failed != nil {
				j.log.Info("accounting journal: the disk accepts writes again", "events", len(batch))
			}
			j.failed = nil
			j.unwritten -= len(batch)
			j.stats.Written += uint64(len(batch))
			j.stats.Fsyncs++
			j.mu.Unlock()
			for _, q := range batch {
				if q.done != nil {
					q.done(nil)
				}
			}
			failures = 0
			clear(batch)
			batch = batch[:0]
			continue
		}
		failures++
		retryAt = time.Now().Add(retryDelay(failures))
		j.mu.Lock()
		if j.failed == nil {
			j.log.Error("accounting journal: write failed; retrying (fail-closed accounting refuses new requests meanwhile)", "error", err)
		}
		j.failed = err
		j.stats.WriteErrors++
		// Waiting starts are answered now: their requests are refused and
		// never run, so their events must not be written later.
		batch = j.refuseLocked(batch, err)
		j.queue = j.queue[:j.qhead+len(j.refuseLocked(j.queue[j.qhead:], err))]
		if closed && time.Since(closedAt) >= j.cfg.CloseRetry {
			j.loseLocked(batch, "the disk refused it until shutdown", true)
			j.loseLocked(j.queue[j.qhead:], "the disk refused it until shutdown", true)
			j.queue, j.qhead = nil, 0
			j.mu.Unlock()
			return
		}
		j.mu.Unlock()
	}
}

// refuseLocked answers the waiting start events in qs with err and
// returns the others. Callers hold j.mu.
func (j *Journal) refuseLocked(qs []queued, err error) []queued {
	keep := qs[:0]
	for _, q := range qs {
		if q.done == nil {
			keep = append(keep, q)
			continue
		}
		q.done(fmt.Errorf("%w: %v", ErrJournalFailed, err))
		j.unwritten--
		j.stats.Refused++
	}
	clear(qs[len(keep):])
	return keep
}

// loseLocked gives up on events: each is logged in full at ERROR, the
// last-resort record of a request the journal could not keep (an event
// holds IDs, names, counts and statuses, never a body or a key), and
// counted. counted says whether they were counted as unwritten. Callers
// hold j.mu.
func (j *Journal) loseLocked(qs []queued, why string, counted bool) {
	for _, q := range qs {
		j.log.Error("accounting journal: event not written; this line is its only record", "reason", why, "event", string(q.data))
		if q.done != nil {
			q.done(fmt.Errorf("%w: %s", ErrJournalFailed, why))
		}
		j.stats.Lost++
		if counted {
			j.unwritten--
		}
	}
}

func appendRecord(buf []byte, e Entry) []byte {
	n := 8 + len(e.Data)
	var hdr [recordHeader + 8]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(n))
	binary.LittleEndian.PutUint64(hdr[8:], e.Seq)
	start := len(buf)
	buf = append(buf, hdr[:]...)
	buf = append(buf, e.Data...)
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+recordHeader:], crcTable))
	return buf
}

// writeBatch appends buf to the current segment and syncs it, rolling
// first when the segment is full, fully shipped and worth reclaiming, or
// left broken by an earlier failure. A failed write or sync is undone, so
// a retry never duplicates records.
func (j *Journal) writeBatch(buf []byte) error {
	if j.segBroken || j.segSize > 0 && (j.segSize >= j.cfg.SegmentBytes || j.reclaimable()) {
		if err := j.roll(); err != nil {
			return err
		}
		if err := j.truncate(j.shipped.Load()); err != nil {
			j.log.Warn("accounting journal: cannot delete a shipped segment", "error", err)
		}
	}
	n, err := j.seg.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil && !j.cfg.NoSync {
		err = j.seg.Sync()
	}
	if err != nil {
		// After a failed fsync the written bytes may or may not reach
		// the disk: cut them off and write them again.
		if terr := j.seg.Truncate(j.segSize); terr != nil {
			j.segBroken = true
		} else if _, serr := j.seg.Seek(j.segSize, io.SeekStart); serr != nil {
			j.segBroken = true
		}
		return err
	}
	j.segSize += int64(len(buf))
	j.diskBytes.Add(int64(len(buf)))
	return nil
}

// Stats returns counters for metrics.
func (j *Journal) Stats() JournalStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.stats
	st.Unwritten = j.unwritten
	st.Bytes = j.diskBytes.Load()
	return st
}

// Close stops accepting appends, writes what is queued and closes the file.
// Events the disk still refuses after CloseRetry are logged and counted as
// lost (see AppendFollowUp).
func (j *Journal) Close() error {
	j.mu.Lock()
	if !j.closed {
		j.closed, j.closedAt = true, time.Now()
		close(j.closing)
	}
	j.mu.Unlock()
	j.wake.Broadcast()
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	defer j.unlock()
	if j.seg != nil {
		err := j.seg.Close()
		j.seg = nil
		return err
	}
	return nil
}

// unlock releases the directory's lock (closing its file drops the flock).
func (j *Journal) unlock() {
	if j.lock != nil {
		_ = j.lock.Close()
		j.lock = nil
	}
}
