package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"aether/internal/llm"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

// TestRollupRacesLateRecords records requests of one past day from several
// goroutines while the rollup sums that day over and over: every row must
// end up either summed or its day marked for another rollup, so the
// aggregates equal the raw rows, and so does the rollup after one more run
// (issue 8, item 8).
func TestRollupRacesLateRecords(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	record := func(id string, at time.Time) error {
		meta := llm.RequestMeta{RequestID: id, UserID: 1, APIKeyID: 1, Model: "m", Format: llm.FormatOpenAI,
			Operation: llm.OpGenerate, ReceivedAt: at, Deadline: at.Add(time.Minute)}
		out := llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: -1,
			Usage: llm.Usage{InputTokens: 10, OutputTokens: 1, Known: true}, FinishedAt: at.Add(time.Second)}
		_, err := st.RecordFinal(ctx, store.FinalRecord{Meta: meta, Outcome: out,
			Cost: &store.Cost{Input: 1_000_000, Total: 1_000_000, Actual: 1_000_000, Multiplier: 1_000_000}})
		return err
	}
	if err := record("seed", day.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if err := record(fmt.Sprintf("w%d-%d", w, i), day.Add(time.Duration(w*perWriter+i)*time.Second)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	rolls := 0
	var rg sync.WaitGroup
	rg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := st.RollupDay(ctx, day); err != nil {
				errs <- err
				return
			}
			rolls++
		}
	})
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d rollups of the day ran during %d writes", rolls, writers*perWriter)

	const n = writers*perWriter + 1
	sum := func(when string) {
		t.Helper()
		aggs, err := st.Aggregates(ctx, "model", day, day.AddDate(0, 0, 1))
		// Each request costs $0.000001.
		if err != nil || len(aggs) != 1 || aggs[0].Requests != n || aggs[0].Failed != 0 || aggs[0].InputTokens != 10*n ||
			aggs[0].CostUSD != fmt.Sprintf("0.%06d000000", n) {
			t.Fatalf("%s: aggregates %+v (%v), want %d requests", when, aggs, err, n)
		}
	}
	sum("after the writes")
	due, err := st.RollupDue(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range due {
		if _, err := st.RollupDay(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var requests int64
	if err := st.Pool.QueryRow(ctx, `SELECT coalesce(sum(requests), 0) FROM request_stats_daily WHERE day = $1::date`, day.Format(time.DateOnly)).Scan(&requests); err != nil {
		t.Fatal(err)
	}
	if requests != n {
		t.Fatalf("after rolling up %v: the rollup holds %d requests, want %d", due, requests, n)
	}
	if _, err := st.Pool.Exec(ctx, `DELETE FROM requests`); err != nil {
		t.Fatal(err)
	}
	sum("from the rollup alone")
}
