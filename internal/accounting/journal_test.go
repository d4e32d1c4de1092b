package accounting

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// collect reads durable batches until n entries arrived.
func collectN(t *testing.T, j *Journal, n int) []Entry {
	t.Helper()
	var out []Entry
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case b := <-j.Durable():
			out = append(out, b...)
		case <-timeout:
			t.Fatalf("only %d of %d entries became durable", len(out), n)
		}
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
	if n := len(j2.Recovered()); n != 400 {
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
	if n := len(j2.Recovered()); n != 10 {
		t.Fatalf("recovered %d entries after a torn tail, want 10", n)
	}
	_ = j2.Append([]byte("after"))
	collectN(t, j2, 1)
	_ = j2.Close()
	j3 := openJ(t, dir, JournalConfig{})
	defer j3.Close()
	rec := j3.Recovered()
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
	if n := len(j2.Recovered()); n != 2 {
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
	if err := j.Shipped(90); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(after) >= len(segs) {
		t.Fatalf("no segment deleted: %d -> %d", len(segs), len(after))
	}
	_ = j.Close()
	j2 := openJ(t, dir, JournalConfig{})
	defer j2.Close()
	rec := j2.Recovered()
	if len(rec) != 10 || rec[0].Seq != 91 {
		t.Fatalf("after checkpoint 90: recovered %d entries starting at %d", len(rec), rec[0].Seq)
	}
}

func TestJournalFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	j := openJ(t, dir, JournalConfig{})
	defer j.Close()
	// Make the segment file unwritable underneath the journal.
	j.mu.Lock()
	_ = j.seg.Close()
	j.mu.Unlock()
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
