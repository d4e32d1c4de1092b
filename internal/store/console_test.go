package store_test

import (
	"context"
	"testing"
	"time"

	"aether/internal/llm"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

// TestConsoleOverviewHours checks the overview's hourly sums against what
// was recorded: a retried RecordFinal counts once, a request still in
// flight counts from its row, and the percentiles come out as the upper
// bounds of their latency buckets (issue 13).
func TestConsoleOverviewHours(t *testing.T) {
	t.Parallel()
	st := testenv.Store(t)
	ctx := context.Background()
	now := time.Now().UTC()
	meta := func(id, model string, at time.Time) llm.RequestMeta {
		return llm.RequestMeta{RequestID: id, UserID: 1, APIKeyID: 1, Model: model, Format: llm.FormatOpenAI,
			Operation: llm.OpGenerate, ReceivedAt: at, Deadline: at.Add(time.Minute)}
	}
	finals := []struct {
		id, model string
		ago       time.Duration
		status    llm.Status
		total     time.Duration
	}{
		{"a", "m1", 3 * time.Hour, llm.StatusCompleted, 120 * time.Millisecond},
		{"b", "m1", 3 * time.Hour, llm.StatusFailed, 900 * time.Millisecond},
		{"c", "m2", time.Minute, llm.StatusCompleted, 130 * time.Millisecond},
		{"old", "m2", 30 * time.Hour, llm.StatusCompleted, time.Second},
	}
	for range 2 { // the second round is a retried activity: nothing moves
		for _, f := range finals {
			at := now.Add(-f.ago)
			out := llm.Outcome{Status: f.status, StatusCode: 200, CandidateIndex: -1, Total: f.total,
				Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, Known: true}, FinishedAt: at.Add(f.total)}
			if _, err := st.RecordFinal(ctx, store.FinalRecord{Meta: meta(f.id, f.model, at), Outcome: out, Provider: "p",
				Cost: &store.Cost{Input: 2_000_000, Total: 2_000_000, Actual: 2_000_000, Multiplier: 1_000_000}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.RecordProgress(ctx, store.RequestProgress{Meta: meta("live", "m2", now.Add(-time.Second)), Status: llm.StatusStreaming}); err != nil {
		t.Fatal(err)
	}
	o, err := st.ConsoleOverview(ctx, now.Add(-24*time.Hour), now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 4 || o.Failed != 1 || o.Tokens != 45 || o.CostUSD < 5.9e-6 || o.CostUSD > 6.1e-6 {
		t.Errorf("totals = %d requests, %d failed, %d tokens, %g USD; want 4, 1, 45, 6e-6", o.Requests, o.Failed, o.Tokens, o.CostUSD)
	}
	if len(o.Hours) < 2 || o.Hours[0].Requests != 2 || o.Hours[0].Failed != 1 {
		t.Errorf("hours = %+v", o.Hours)
	}
	if o.P50MS != 150 || o.P95MS != 1000 {
		t.Errorf("p50 / p95 = %g / %g ms, want 150 / 1000 (bucket bounds)", o.P50MS, o.P95MS)
	}
	// Ties go by name; the request in flight counts as not completed, as
	// the admin API's aggregates count it.
	want := []store.GroupStats{{Group: "m1", Requests: 2, Failed: 1, Tokens: 30}, {Group: "m2", Requests: 2, Failed: 1, Tokens: 15}}
	if len(o.Models) != len(want) {
		t.Fatalf("models = %+v, want %+v", o.Models, want)
	}
	for i, g := range o.Models {
		g.CostUSD = 0
		if g != want[i] {
			t.Errorf("models[%d] = %+v, want %+v", i, g, want[i])
		}
	}
	if len(o.Users) != 1 || o.Users[0].Group != "1" || o.Users[0].Requests != 4 {
		t.Errorf("users = %+v", o.Users)
	}
}
