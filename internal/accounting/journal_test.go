package accounting

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func openJ(t *testing.T, dir string, cfg JournalConfig) *Journal {
	t.Helper()
	cfg.Dir = dir
	j, err := OpenJournal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// tails holds each journal's reader for collectN, so successive calls
// read on where the last one stopped.
var tails sync.Map

// collectN reads the next n entries this run wrote back from the
// journal's files, waiting until they are durable.
func collectN(t *testing.T, j *Journal, n int) []Entry {
	t.Helper()
	r, _ := tails.LoadOrStore(j, j.NewReader(j.RecoveredThrough()+1))
	var out []Entry
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		b, err := r.(*Reader).Read(n - len(out))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
		if len(b) > 0 {
			continue
		}
		select {
		case <-j.Written():
		case <-timeout:
			t.Fatalf("only %d of %d entries became durable", len(out), n)
		}
	}
	return out
}

// recovered reads back the entries a previous run left after the
// checkpoint.
func recovered(t *testing.T, j *Journal) []Entry {
	t.Helper()
	r := j.NewReader(j.ShippedSeq() + 1)
	defer r.Close()
	var out []Entry
	for r.Next() <= j.RecoveredThrough() {
		b, err := r.Read(100)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		out = append(out, b...)
	}
	return out
}

func TestJournalOrderAndRecovery(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := j.Append(fmt.Appendf(nil, "g%d-%d", g, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got := collectN(t, j, 400)
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	st := j.Stats()
	if st.Fsyncs >= 400 {
		t.Errorf("no group commit: %d fsyncs for 400 concurrent appends", st.Fsyncs)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing shipped: all 400 come back, and new entries continue the
	// sequence.
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	if n := len(recovered(t, j2)); n != 400 {
		t.Fatalf("recovered %d entries, want 400", n)
	}
	_ = j2.Append([]byte("next"))
	if e := collectN(t, j2, 1); e[0].Seq != 401 {
		t.Fatalf("next seq %d, want 401", e[0].Seq)
	}
}

// TestJournalTornTail simulates a crash in the middle of a write: the torn
// record is cut off, everything before it is kept, and appends continue.
func TestJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	for i := range 10 {
		_ = j.Append(fmt.Appendf(nil, "event-%d", i))
	}
	collectN(t, j, 10)
	_ = j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A record header promising 100 bytes, followed by only 3.
	_, _ = f.Write([]byte{100, 0, 0, 0, 1, 2, 3, 4, 'a', 'b', 'c'})
	f.Close()

	j2 := openJ(t, dir, JournalConfig{})
	if n := len(recovered(t, j2)); n != 10 {
		t.Fatalf("recovered %d entries after a torn tail, want 10", n)
	}
	_ = j2.Append([]byte("after"))
	collectN(t, j2, 1)
	_ = j2.Close()
	j3 := openJ(t, dir, JournalConfig{})
	defer j3.Close()
	rec := recovered(t, j3)
	if len(rec) != 11 || string(rec[10].Data) != "after" {
		t.Fatalf("after repair: %d entries, last %q", len(rec), rec[len(rec)-1].Data)
	}
}

// TestJournalCorruptRecordStops: a flipped bit fails the checksum; the
// journal keeps what precedes it rather than shipping garbage.
func TestJournalCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	for i := range 3 {
		_ = j.Append(fmt.Appendf(nil, "event-%d", i))
	}
	collectN(t, j, 3)
	_ = j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	b, _ := os.ReadFile(segs[0])
	b[len(b)-2] ^= 0xff // inside the last record's payload
	_ = os.WriteFile(segs[0], b, 0o640)
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	if n := len(recovered(t, j2)); n != 2 {
		t.Fatalf("recovered %d, want the 2 intact entries", n)
	}
}

func TestJournalCheckpointTruncates(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{SegmentBytes: 256})
	for i := range 100 {
		_ = j.Append(fmt.Appendf(nil, "event-%03d-padding-padding", i))
		collectN(t, j, 1) // one batch each, so segments roll
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 5 {
		t.Fatalf("only %d segments", len(segs))
	}
	if err := j.Shipped(90, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(after) >= len(segs) {
		t.Fatalf("no segment deleted: %d -> %d", len(segs), len(after))
	}
	_ = j.Close()
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	rec := recovered(t, j2)
	if len(rec) != 10 || rec[0].Seq != 91 {
		t.Fatalf("after checkpoint 90: recovered %d entries starting at %d", len(rec), rec[0].Seq)
	}
}

func TestJournalFailureIsReported(t *testing.T) {
	d := &disk{}
	j := openJ(t, t.TempDir(), JournalConfig{OpenFile: d.open, CloseRetry: 100 * time.Millisecond})
	defer j.Close()
	d.full.Store(true)
	_ = j.Append([]byte("x"))
	deadline := time.Now().Add(5 * time.Second)
	for j.Append([]byte("y")) == nil {
		if time.Now().After(deadline) {
			t.Fatal("a failing disk was never reported to Append")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := j.AppendFollowUp([]byte("end of an accepted request")); err != nil {
		t.Fatalf("follow-up events must be queued even while failing: %v", err)
	}
	if j.Stats().WriteErrors == 0 {
		t.Fatal("write errors not counted")
	}
}

// disk is a filesystem for the journal whose writes can be made to fail,
// as on a full volume: Write returns ENOSPC after writing nothing.
type disk struct {
	full   atomic.Bool
	writes atomic.Int64
}

type diskFile struct {
	*os.File
	d *disk
}

func (d *disk) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, d: d}, nil
}

func (f *diskFile) Write(b []byte) (int, error) {
	f.d.writes.Add(1)
	if f.d.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(b)
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// TestJournalRollWhileShipping rolls segments in the writer while another
// goroutine (the shipper) checkpoints and deletes them; run with -race.
func TestJournalRollWhileShipping(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{SegmentBytes: 512})
	const n = 800
	stop := make(chan struct{})
	shipped := make(chan struct{})
	var seen uint64 // the last entry read back, in order, while segments roll and go
	go func() {
		defer close(shipped)
		r := j.NewReader(1)
		defer r.Close()
		for {
			select {
			case <-j.Written():
				for {
					b, err := r.Read(7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(b) == 0 {
						break
					}
					for _, e := range b {
						if e.Seq != seen+1 {
							t.Errorf("read seq %d after %d", e.Seq, seen)
						}
						seen = e.Seq
					}
					if err := j.Shipped(seen, nil); err != nil {
						t.Error(err)
					}
				}
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 4 {
				if err := j.AppendDurable(fmt.Appendf(nil, "g%d-%04d-padding-padding-padding", g, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	eventually(t, "all shipped", func() bool { return shippedSeq(j) == n })
	close(stop)
	<-shipped
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) > 3 {
		t.Fatalf("%d segments left after everything was shipped", len(segs))
	}
	_ = j.Close()
}

// TestJournalFullDiskNoDeadlock: while the disk refuses writes, request
// goroutines keep handing over the ends of accepted requests, far more
// than any queue holds; none of them blocks, starts are refused, and once
// space is back every accepted event is written.
func TestJournalFullDiskNoDeadlock(t *testing.T) {
	d := &disk{}
	j := openJ(t, t.TempDir(), JournalConfig{OpenFile: d.open})
	defer j.Close()
	if err := j.AppendDurable([]byte("before")); err != nil {
		t.Fatal(err)
	}
	d.full.Store(true)
	if err := j.AppendDurable([]byte("start while full")); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("a start on a full disk: %v, want ErrJournalFailed", err)
	}
	const followUps = 100_000
	returned := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range followUps / 8 {
					if err := j.AppendFollowUp(fmt.Appendf(nil, "end-%d-%d", g, i)); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(20 * time.Second):
		t.Fatal("AppendFollowUp blocked while the disk was full")
	}
	if err := j.Append([]byte("start")); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("start accepted while failing: %v", err)
	}
	if st := j.Stats(); st.Unwritten != followUps {
		t.Fatalf("unwritten %d, want %d", st.Unwritten, followUps)
	}
	d.full.Store(false)
	eventually(t, "events written after space came back", func() bool { return j.Stats().Unwritten == 0 })
	if st := j.Stats(); st.Written != followUps+1 || st.Lost != 0 {
		t.Fatalf("after recovery: %+v", st)
	}
	if err := j.AppendDurable([]byte("start after recovery")); err != nil {
		t.Fatalf("start after recovery: %v", err)
	}
}

// TestJournalDurableStartOnFullDisk: a start waits for its own write, so a
// disk that filled since the last write refuses it (the request is
// answered 503) instead of accepting it into memory; the refused event is
// never written later. The first start after space is back goes through.
func TestJournalDurableStartOnFullDisk(t *testing.T) {
	d := &disk{}
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{OpenFile: d.open})
	if err := j.AppendDurable([]byte("one")); err != nil {
		t.Fatal(err)
	}
	collectN(t, j, 1)
	d.full.Store(true)
	refused := make(chan error, 1)
	go func() { refused <- j.AppendDurable([]byte("refused")) }()
	select {
	case err := <-refused:
		if !errors.Is(err, ErrJournalFailed) {
			t.Fatalf("start on a disk that just filled: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a start on a full disk waits for the disk instead of being refused")
	}
	if st := j.Stats(); st.Unwritten != 0 || st.Refused != 1 {
		t.Fatalf("after the refusal: %+v", st)
	}
	d.full.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for j.AppendDurable([]byte("two")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("starts still refused after space came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	collectN(t, j, 1)
	_ = j.Close()
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	var got []string
	for _, e := range recovered(t, j2) {
		got = append(got, string(e.Data))
	}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("journal holds %q, want the two accepted starts only", got)
	}
}

// TestJournalCloseLogsWhatTheDiskRefused: at shutdown on a disk that is
// still full, every event not written is logged in full at ERROR, as the
// last-resort record, and counted; Close returns.
func TestJournalCloseLogsWhatTheDiskRefused(t *testing.T) {
	d := &disk{}
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	j := openJ(t, t.TempDir(), JournalConfig{OpenFile: d.open, Log: log, CloseRetry: 300 * time.Millisecond})
	d.full.Store(true)
	for i := range 3 {
		if err := j.AppendFollowUp(fmt.Appendf(nil, `{"k":"finished","id":"req-%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "unwritten events reported", func() bool { st := j.Stats(); return st.WriteErrors > 0 && st.Unwritten == 3 })
	closed := make(chan struct{})
	go func() { _ = j.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a full disk")
	}
	_ = j.AppendFollowUp([]byte(`{"k":"finished","id":"req-late"}`))
	if st := j.Stats(); st.Lost != 4 || st.Unwritten != 0 {
		t.Fatalf("after close: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range []string{"req-0", "req-1", "req-2", "req-late"} {
		found := false
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, `{\"k\":\"finished\",\"id\":\"`+id+`\"}`) {
				found = true
			}
		}
		if !found {
			t.Errorf("event of %s not logged in full at ERROR:\n%s", id, logs.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestJournalReclaimsShippedSpace: with the default segment size, a
// journal whose events are all shipped frees its space by itself, wave
// after wave, instead of growing until the segment is full.
func TestJournalReclaimsShippedSpace(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	defer j.Close()
	pad := strings.Repeat("x", 1000)
	seq := uint64(0)
	for wave := range 8 {
		for i := range 400 {
			_ = j.Append(fmt.Appendf(nil, "%d-%d-%s", wave, i, pad))
		}
		got := collectN(t, j, 400)
		seq = got[len(got)-1].Seq
		if err := j.Shipped(seq, nil); err != nil {
			t.Fatal(err)
		}
		// One wave is ~400 KB; the journal may keep up to 1 MiB of
		// shipped events before it rolls, plus the wave in flight.
		eventually(t, "shipped space reclaimed", func() bool { return dirBytes(t, dir) < 1<<20+600<<10 })
	}
	eventually(t, "idle journal shrinks", func() bool { return dirBytes(t, dir) < 1<<20 })
}

// TestJournalCheckpointTempFiles: a checkpoint that cannot be written
// leaves no temporary file behind, and one left by a crash is removed at
// open.
func TestJournalCheckpointTempFiles(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, checkpointName+tmpSuffix)
	_ = os.WriteFile(tmp, nil, 0o640)
	d := &disk{}
	j := openJ(t, dir, JournalConfig{OpenFile: d.open})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left at open: %v", tmp, err)
	}
	_ = j.Append([]byte("a"))
	collectN(t, j, 1)
	d.full.Store(true)
	if err := j.Shipped(1, nil); err == nil {
		t.Fatal("checkpoint written on a full disk")
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left after a failed checkpoint: %v", tmp, err)
	}
	d.full.Store(false)
	if err := j.Shipped(1, [][]byte{[]byte(`{"k":"open","id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	_ = j.Close()
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	if shippedSeq(j2) != 1 || len(recovered(t, j2)) != 0 || len(j2.RecoveredOpen()) != 1 {
		t.Fatalf("reopened: shipped %d, %d recovered, open %q", shippedSeq(j2), len(recovered(t, j2)), j2.RecoveredOpen())
	}
}

// shippedSeq is the checkpoint: every entry up to it was delivered.
func shippedSeq(j *Journal) uint64 { return j.shipped.Load() }

// TestJournalMaxBytes: at AETHER_JOURNAL_MAX_BYTES new requests are refused
// (their start events), the ends of accepted requests are still written,
// Stats reports the bytes on disk, and once the backlog is shipped and its
// segments deleted, starts are taken again. The count survives a restart.
func TestJournalMaxBytes(t *testing.T) {
	dir := t.TempDir()
	cfg := JournalConfig{SegmentBytes: 64 << 10, ReclaimBytes: 64 << 10, MaxBytes: 128 << 10}
	j := openJ(t, dir, cfg)
	pad := strings.Repeat("x", 1000)
	accepted := 0
	for i := range 1000 {
		err := j.AppendDurable(fmt.Appendf(nil, "start-%d-%s", i, pad))
		if errors.Is(err, ErrJournalFailed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted++
	}
	if accepted == 0 || accepted == 1000 {
		t.Fatalf("%d of 1000 starts accepted; the cap should stop them after about 128 KiB", accepted)
	}
	if b := j.Stats().Bytes; b < cfg.MaxBytes || b > cfg.MaxBytes+4<<10 {
		t.Fatalf("Stats().Bytes = %d, want the cap %d (plus at most one record)", b, cfg.MaxBytes)
	}
	if b, d := j.Stats().Bytes, dirBytes(t, dir); b != d {
		t.Fatalf("Stats().Bytes = %d, but the segment files hold %d", b, d)
	}
	if j.Stats().Refused == 0 {
		t.Fatal("refused starts not counted")
	}
	// The end of an accepted request is never refused.
	if err := j.AppendFollowUp([]byte("end-0")); err != nil {
		t.Fatal(err)
	}
	got := collectN(t, j, accepted+1)
	// Restart at the cap: the size is counted again from the files.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openJ(t, dir, cfg)
	defer j.Close()
	if b := j.Stats().Bytes; b < cfg.MaxBytes {
		t.Fatalf("after a restart Stats().Bytes = %d, want at least the cap %d", b, cfg.MaxBytes)
	}
	if err := j.Append([]byte("start-after-restart")); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("a start at the cap after a restart: %v, want refused", err)
	}
	// Ship everything: the shipped segments go, and starts are taken again.
	if err := j.Shipped(got[len(got)-1].Seq, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "starts accepted once the backlog is shipped", func() bool {
		_ = j.AppendFollowUp([]byte("tick")) // lets the writer roll the shipped segment
		return j.Append([]byte("start-again")) == nil
	})
	if b := j.Stats().Bytes; b >= cfg.MaxBytes {
		t.Fatalf("Stats().Bytes = %d after shipping, want below the cap", b)
	}
}

// TestJournalDirInUse: a second process (here a second open) cannot use a
// journal directory that is open: two shippers on one journal would ship
// and delete each other's entries. Closing the first frees it.
func TestJournalDirInUse(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	if _, err := OpenJournal(JournalConfig{Dir: dir}); err == nil || !strings.Contains(err.Error(), "AETHER_JOURNAL_DIR") {
		t.Fatalf("second open of %s: %v, want an in-use error naming AETHER_JOURNAL_DIR", dir, err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	openJ(t, dir, JournalConfig{}).Close()
}
