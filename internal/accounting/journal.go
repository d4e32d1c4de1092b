package accounting

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The journal is an append-only log of accounting events in segment files.
// Appends are queued and written by one goroutine in batches, each batch
// one write and one fsync (group commit), so many concurrent requests share
// the cost of a disk flush. Entries carry a sequence number; a checkpoint
// file records the highest sequence below which everything was shipped, and
// segments wholly below it are deleted.
//
// Why not tidwall/wal: it refuses to open a log whose last entry is torn
// (a crash mid-write) and keeps no checksums; an accounting journal must
// recover from both by itself. The format here is small:
//
//	record  = length uint32 | crc32c(payload) uint32 | payload
//	payload = seq uint64 | event bytes
//
// A torn or corrupt tail is truncated at start-up; everything before it is
// kept.

const (
	segmentSuffix  = ".seg"
	checkpointName = "shipped"
	recordHeader   = 8
	maxRecord      = 4 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrJournalFailed is returned by Append while the journal cannot write
// (disk full, I/O error); the caller decides whether to serve anyway.
var ErrJournalFailed = errors.New("accounting journal cannot write")

// JournalConfig configures a Journal.
type JournalConfig struct {
	Dir string
	// SegmentBytes rolls to a new segment file past this size (default 16 MiB).
	SegmentBytes int64
	// MaxBatch bounds one group commit (default 512 entries).
	MaxBatch int
	// NoSync skips fsync: only for benchmarks that measure everything else.
	NoSync bool
}

// Entry is one durable journal entry.
type Entry struct {
	Seq  uint64
	Data []byte
}

type appendReq struct {
	data []byte
}

// Journal is the durable local queue between the proxy and the shipper.
type Journal struct {
	cfg       JournalConfig
	in        chan appendReq
	out       chan []Entry // durable batches, in order
	mu        sync.Mutex
	failed    error
	seg       *os.File
	segSize   int64
	segments  []uint64 // first seq of each segment, ascending
	nextSeq   uint64
	shipped   uint64 // checkpoint: every seq <= shipped is delivered
	stats     JournalStats
	done      chan struct{}
	closeMu   sync.Mutex
	closed    bool
	recovered []Entry
}

// JournalStats are exported as metrics.
type JournalStats struct {
	Appended, Written, Fsyncs uint64
	WriteErrors               uint64
	// Lost counts events dropped because the disk refused them until
	// shutdown.
	Lost uint64
}

// OpenJournal opens (creating if needed) the journal in cfg.Dir, recovers
// its entries after the checkpoint, and starts the writer.
func OpenJournal(cfg JournalConfig) (*Journal, error) {
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 16 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{cfg: cfg, in: make(chan appendReq, 65536), out: make(chan []Entry, 1024), done: make(chan struct{}), nextSeq: 1}
	if err := j.recover(); err != nil {
		return nil, err
	}
	go j.writer()
	return j, nil
}

// Recovered returns the entries found after the checkpoint at open: the
// events of a previous run that were not shipped yet.
func (j *Journal) Recovered() []Entry { return j.recovered }

// Durable delivers batches of entries once they are on disk, in order.
func (j *Journal) Durable() <-chan []Entry { return j.out }

func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", first, segmentSuffix))
}

func (j *Journal) recover() error {
	if b, err := os.ReadFile(filepath.Join(j.cfg.Dir, checkpointName)); err == nil {
		j.shipped, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	names, err := filepath.Glob(filepath.Join(j.cfg.Dir, "*"+segmentSuffix))
	if err != nil {
		return err
	}
	for _, n := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(n), segmentSuffix), 10, 64)
		if err == nil {
			j.segments = append(j.segments, first)
		}
	}
	sort.Slice(j.segments, func(a, b int) bool { return j.segments[a] < j.segments[b] })
	j.nextSeq = max(j.shipped+1, 1)
	for i, first := range j.segments {
		last := i == len(j.segments)-1
		entries, validBytes, err := readSegment(segmentPath(j.cfg.Dir, first))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Seq > j.shipped {
				j.recovered = append(j.recovered, e)
			}
			if e.Seq >= j.nextSeq {
				j.nextSeq = e.Seq + 1
			}
		}
		if last {
			// Reopen the tail for appending, cutting off a torn record.
			f, err := os.OpenFile(segmentPath(j.cfg.Dir, first), os.O_RDWR, 0o640)
			if err != nil {
				return err
			}
			if err := f.Truncate(validBytes); err != nil {
				f.Close()
				return err
			}
			if _, err := f.Seek(validBytes, io.SeekStart); err != nil {
				f.Close()
				return err
			}
			j.seg, j.segSize = f, validBytes
		}
	}
	if j.seg == nil {
		return j.roll()
	}
	return nil
}

// readSegment returns the valid entries of a segment and the byte length
// they occupy; reading stops at the first torn or corrupt record.
func readSegment(path string) ([]Entry, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var out []Entry
	var off int64
	hdr := make([]byte, recordHeader)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return out, off, nil
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if n < 8 || n > maxRecord {
			return out, off, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil || crc32.Checksum(payload, crcTable) != sum {
			return out, off, nil
		}
		out = append(out, Entry{Seq: binary.LittleEndian.Uint64(payload[:8]), Data: payload[8:]})
		off += int64(recordHeader + n)
	}
}

func (j *Journal) roll() error {
	if j.seg != nil {
		if err := j.seg.Close(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(segmentPath(j.cfg.Dir, j.nextSeq), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	j.seg, j.segSize = f, 0
	j.segments = append(j.segments, j.nextSeq)
	return syncDir(j.cfg.Dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append queues the first event of a request. It never waits for the disk;
// it fails when the journal is currently unable to write, so a new request
// can be refused (fail-closed) rather than served unrecorded.
func (j *Journal) Append(data []byte) error {
	j.mu.Lock()
	failed := j.failed
	j.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("%w: %v", ErrJournalFailed, failed)
	}
	return j.AppendFollowUp(data)
}

// AppendFollowUp queues a later event of a request already accepted. It
// queues even while the disk is failing (the writer retries until it can),
// because dropping the end of an accepted request would lose its record.
func (j *Journal) AppendFollowUp(data []byte) error {
	j.closeMu.Lock()
	defer j.closeMu.Unlock()
	if j.closed {
		return ErrJournalFailed
	}
	j.in <- appendReq{data: data}
	j.mu.Lock()
	j.stats.Appended++
	j.mu.Unlock()
	return nil
}

// writer is the single goroutine that owns the segment file.
func (j *Journal) writer() {
	defer close(j.done)
	defer close(j.out)
	var buf []byte
	batch := make([]Entry, 0, j.cfg.MaxBatch)
	for {
		req, ok := <-j.in
		if !ok {
			return
		}
		batch = batch[:0]
		buf = buf[:0]
		for {
			e := Entry{Seq: j.nextSeq, Data: req.data}
			j.nextSeq++
			buf = appendRecord(buf, e)
			batch = append(batch, e)
			if len(batch) >= j.cfg.MaxBatch {
				break
			}
			select {
			case req, ok = <-j.in:
				if !ok {
					j.flush(buf, batch)
					return
				}
				continue
			default:
			}
			break
		}
		j.flush(buf, batch)
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

// flush writes and syncs one batch, retrying until the disk accepts it: an
// event is never dropped, and while the disk refuses, Append reports the
// failure so new requests see it.
func (j *Journal) flush(buf []byte, batch []Entry) {
	for attempt := 0; ; attempt++ {
		err := j.writeBatch(buf)
		j.mu.Lock()
		j.failed = err
		if err != nil {
			j.stats.WriteErrors++
		}
		j.mu.Unlock()
		if err == nil {
			break
		}
		j.closeMu.Lock()
		closing := j.closed
		j.closeMu.Unlock()
		if closing && attempt >= 3 {
			// Shutting down on a disk that refuses writes: these events
			// cannot be kept. Say so loudly and let the process exit.
			j.mu.Lock()
			j.stats.Lost += uint64(len(batch))
			j.mu.Unlock()
			return
		}
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second))
	}
	j.mu.Lock()
	j.stats.Written += uint64(len(batch))
	j.stats.Fsyncs++
	j.mu.Unlock()
	j.out <- append([]Entry(nil), batch...)
}

func (j *Journal) writeBatch(buf []byte) error {
	if j.segSize > j.cfg.SegmentBytes {
		if err := j.roll(); err != nil {
			return err
		}
	}
	n, err := j.seg.Write(buf)
	if err != nil {
		// Undo a partial write so the next attempt starts clean.
		_ = j.seg.Truncate(j.segSize)
		_, _ = j.seg.Seek(j.segSize, io.SeekStart)
		return err
	}
	j.segSize += int64(n)
	if !j.cfg.NoSync {
		return j.seg.Sync()
	}
	return nil
}

// Shipped records that every entry with Seq <= seq was delivered, and
// deletes segments wholly below it.
func (j *Journal) Shipped(seq uint64) error {
	j.mu.Lock()
	if seq <= j.shipped {
		j.mu.Unlock()
		return nil
	}
	j.shipped = seq
	j.mu.Unlock()
	tmp := filepath.Join(j.cfg.Dir, checkpointName+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(seq, 10)+"\n"), 0o640); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, filepath.Join(j.cfg.Dir, checkpointName)); err != nil {
		return err
	}
	return j.truncate(seq)
}

// ShippedSeq returns the checkpoint: every entry up to it was delivered.
func (j *Journal) ShippedSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.shipped
}

// truncate deletes every segment whose entries are all <= shipped. The
// current (last) segment is never deleted.
func (j *Journal) truncate(shipped uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for len(j.segments) > 1 && j.segments[1] <= shipped+1 {
		if err := os.Remove(segmentPath(j.cfg.Dir, j.segments[0])); err != nil && !os.IsNotExist(err) {
			return err
		}
		j.segments = j.segments[1:]
	}
	return nil
}

// Stats returns counters for metrics.
func (j *Journal) Stats() JournalStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stats
}

// Close stops accepting appends, writes what is queued and closes the file.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	if !j.closed {
		j.closed = true
		close(j.in)
	}
	j.closeMu.Unlock()
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.seg != nil {
		err := j.seg.Close()
		j.seg = nil
		return err
	}
	return nil
}
