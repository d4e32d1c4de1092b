package accounting

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"aether/internal/llm"
)

// BenchmarkRecorderStarted measures what the start event costs a request
// on the hot path: queued only (fail-open) or waited for until it is on
// disk (fail-closed, Recorder.Durable), one request at a time and with
// many in parallel sharing group commits. The journal is on the test's
// temporary directory, with fsync.
func BenchmarkRecorderStarted(b *testing.B) {
	plan := []llm.Candidate{{Index: 0, ProviderID: 1, Provider: "p-openai", EndpointID: 1, KeyID: 1, KeyName: "primary", UpstreamModel: "gpt-4o-mini"},
		{Index: 1, ProviderID: 1, Provider: "p-openai", EndpointID: 1, KeyID: 2, KeyName: "backup", UpstreamModel: "gpt-4o-mini"}}
	for _, c := range []struct {
		name     string
		durable  bool
		parallel bool
	}{{"queued/serial", false, false}, {"durable/serial", true, false}, {"queued/parallel", false, true}, {"durable/parallel", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			j, err := OpenJournal(JournalConfig{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			r := &Recorder{J: j, Durable: c.durable}
			m := llm.RequestMeta{RequestID: "0195f1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", UserID: 1, User: "tester", APIKeyID: 1, Model: "gpt-4o-mini",
				Format: llm.FormatOpenAI, Operation: llm.OpGenerate, ReceivedAt: time.Now(), Deadline: time.Now().Add(10 * time.Minute)}
			b.ReportAllocs()
			// Queued starts outrun the disk here; the journal refuses
			// them past MaxUnwritten, which is counted, not an error.
			if c.parallel {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = r.Started(m, plan)
					}
				})
			} else {
				for b.Loop() {
					_ = r.Started(m, plan)
				}
			}
			b.StopTimer()
			_ = j.Close()
			st := j.Stats()
			if c.durable && st.Refused > 0 {
				b.Fatalf("%d durable starts refused", st.Refused)
			}
			b.ReportMetric(float64(st.Refused)/float64(b.N), "refused/op")
			b.ReportMetric(float64(st.Written)/float64(max(st.Fsyncs, 1)), "events/fsync")
		})
	}
}

// BenchmarkShipBacklog measures how fast the shipper drains a backlog
// that waits on disk (issue 11) when Temporal answers at once: one op is
// one request (a start and an end journaled before the shipper starts),
// read back through the window and delivered as one start. Temporal's own
// cost is left out, so this is the ceiling the shipper puts on a drain.
func BenchmarkShipBacklog(b *testing.B) {
	dir := b.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	rec := &Recorder{J: j}
	for i := range b.N {
		id := fmt.Sprintf("bench-%09d", i)
		if err := rec.Started(meta(id), []llm.Candidate{{Index: 0, KeyID: 1, Provider: "p"}}); err != nil {
			b.Fatal(err)
		}
		rec.Finished(id, done(llm.StatusCompleted))
		for j.Stats().Unwritten > 30_000 {
			time.Sleep(time.Millisecond)
		}
	}
	for j.DurableSeq() < uint64(2*b.N) {
		time.Sleep(time.Millisecond)
	}
	s := NewShipper(ShipperConfig{TaskQueue: "q", Coalesce: time.Hour}, newFakeTemporal(), j, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	b.ResetTimer()
	go func() { s.Run(ctx); close(stopped) }()
	for s.Stats().Delivered < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	_ = j.Close()
	cancel()
	<-stopped
}
