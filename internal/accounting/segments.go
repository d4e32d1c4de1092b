package accounting

import (
	"bufio"
	"bytes"
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
)

// Segment files and the checkpoint: recovery at open, rolling, reclaiming
// shipped space, and the shipped mark with the open requests it lists.

func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", first, segmentSuffix))
}

func (j *Journal) recover() error {
	ckpt := filepath.Join(j.cfg.Dir, checkpointName)
	// A checkpoint write cut short leaves its temporary file; the renamed
	// checkpoint is the one that counts.
	if err := os.Remove(ckpt + tmpSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if b, err := os.ReadFile(ckpt); err == nil {
		lines := bytes.Split(b, []byte("\n"))
		seq, _ := strconv.ParseUint(string(bytes.TrimSpace(lines[0])), 10, 64)
		j.shipped.Store(seq)
		for _, l := range lines[1:] {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				j.recoveredOpen = append(j.recoveredOpen, l)
			}
		}
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
	shipped := j.shipped.Load()
	j.nextSeq = shipped + 1
	if n := len(j.segments); n > 0 {
		// Only the last segment is read: it may end in a torn record, and
		// its last entry gives the next sequence. A segment is named after
		// the first sequence it may hold, so earlier ones end below it.
		first := j.segments[n-1]
		last, validBytes, err := scanSegment(segmentPath(j.cfg.Dir, first))
		if err != nil {
			return err
		}
		j.nextSeq = max(j.nextSeq, first, last+1)
		// Reopen the tail for appending, cutting off a torn record.
		f, err := j.cfg.OpenFile(segmentPath(j.cfg.Dir, first), os.O_RDWR, 0o640)
		if err != nil {
			return err
		}
		j.seg, j.segSize, j.segFirst = f, validBytes, first
		if err := f.Truncate(validBytes); err != nil {
			return err
		}
		if _, err := f.Seek(validBytes, io.SeekStart); err != nil {
			return err
		}
	}
	for _, first := range j.segments {
		if fi, err := os.Stat(segmentPath(j.cfg.Dir, first)); err == nil {
			j.diskBytes.Add(fi.Size())
		}
	}
	j.recoveredThrough = j.nextSeq - 1
	j.durable.Store(j.nextSeq - 1)
	if j.seg == nil {
		return j.roll()
	}
	// Segments wholly shipped before the last run ended.
	return j.truncate(shipped)
}

// scanSegment returns the last sequence among a segment's valid records
// (0 when it has none) and the byte length they occupy; it stops at the
// first torn or corrupt record, holding one record at a time.
func scanSegment(path string) (last uint64, valid int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		e, n, ok := readRecord(r)
		if !ok {
			return last, valid, nil
		}
		last = e.Seq
		valid += n
	}
}

// readRecord reads the record at r's position: its entry and its size on
// disk. ok is false at the end of the valid records: the end of the file,
// or a torn or corrupt record.
func readRecord(r *bufio.Reader) (e Entry, size int64, ok bool) {
	hdr, err := r.Peek(recordHeader)
	if err != nil {
		return Entry{}, 0, false
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	sum := binary.LittleEndian.Uint32(hdr[4:])
	if n < 8 || n > maxRecord {
		return Entry{}, 0, false
	}
	payload := make([]byte, n)
	if _, err := r.Discard(recordHeader); err != nil {
		return Entry{}, 0, false
	}
	if _, err := io.ReadFull(r, payload); err != nil || crc32.Checksum(payload, crcTable) != sum {
		return Entry{}, 0, false
	}
	return Entry{Seq: binary.LittleEndian.Uint64(payload[:8]), Data: payload[8:]}, int64(recordHeader + n), true
}

// roll starts a new segment named after the next sequence. Only the writer
// (or recover, before it starts) calls it.
func (j *Journal) roll() error {
	f, err := j.cfg.OpenFile(segmentPath(j.cfg.Dir, j.nextSeq), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(j.cfg.Dir); err != nil {
		_ = f.Close()
		return err
	}
	if j.seg != nil {
		_ = j.seg.Close() // every byte in it was synced when written
	}
	j.seg, j.segSize, j.segFirst, j.segBroken = f, 0, j.nextSeq, false
	j.segMu.Lock()
	if n := len(j.segments); n == 0 || j.segments[n-1] != j.nextSeq {
		j.segments = append(j.segments, j.nextSeq)
	}
	j.segMu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// reclaimable reports whether every entry written so far is shipped and
// the current segment is big enough to be worth replacing.
func (j *Journal) reclaimable() bool {
	return j.segSize >= j.cfg.ReclaimBytes && j.shipped.Load() >= j.nextSeq-1
}

// reclaimSpace rolls a fully shipped current segment while the journal is
// idle, and deletes the old one.
func (j *Journal) reclaimSpace() {
	if !j.reclaimable() {
		return
	}
	if err := j.roll(); err != nil {
		j.log.Warn("accounting journal: cannot start a new segment to free shipped space", "error", err)
		return
	}
	if err := j.truncate(j.shipped.Load()); err != nil {
		j.log.Warn("accounting journal: cannot delete a shipped segment", "error", err)
	}
}

// Shipped records the checkpoint: every entry with Seq <= seq was
// delivered, and open holds one record per request whose start was
// delivered but whose end was not, so a restart can close them. It then
// deletes segments wholly below seq. The records must not contain
// newlines.
func (j *Journal) Shipped(seq uint64, open [][]byte) error {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	seq = max(seq, j.shipped.Load())
	err := j.writeCheckpoint(seq, open)
	if err != nil {
		// A full disk must not keep the journal from freeing itself:
		// delete the segments the deliveries allow, then try again. A
		// crash before a checkpoint is written again restarts from the
		// old one: delivered events are delivered again (harmless), and
		// a request opened since it is closed at its deadline by its
		// workflow rather than at the restart.
		j.truncateLocked(seq)
		err = j.writeCheckpoint(seq, open)
	}
	j.shipped.Store(seq)
	j.truncateLocked(seq)
	j.mu.Lock()
	j.reclaim = true
	j.mu.Unlock()
	j.wake.Signal()
	return err
}

func (j *Journal) writeCheckpoint(seq uint64, open [][]byte) error {
	path := filepath.Join(j.cfg.Dir, checkpointName)
	tmp := path + tmpSuffix
	buf := strconv.AppendUint(nil, seq, 10)
	buf = append(buf, '\n')
	for _, o := range open {
		buf = append(append(buf, o...), '\n')
	}
	f, err := j.cfg.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil && !j.cfg.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // never leave a partial or empty checkpoint behind
		return err
	}
	if !j.cfg.NoSync {
		return syncDir(j.cfg.Dir)
	}
	return nil
}

// truncate deletes every segment whose entries are all <= shipped. The
// current (last) segment is never deleted.
func (j *Journal) truncate(shipped uint64) error {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	return j.truncateLocked(shipped)
}

func (j *Journal) truncateLocked(shipped uint64) error {
	var first error
	for len(j.segments) > 1 && j.segments[1] <= shipped+1 {
		path := segmentPath(j.cfg.Dir, j.segments[0])
		var size int64
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			if first == nil {
				first = err
			}
			break
		}
		j.diskBytes.Add(-size)
		j.segments = j.segments[1:]
	}
	return first
}
