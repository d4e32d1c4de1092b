package admin_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"aether/internal/llm"
	"aether/internal/store"
)

// TestAggregatesCountLateRecords: a day is rolled up, then requests of
// that day are recorded late: one whose final event arrived after an
// outage, one stream that started before midnight and ended after it, and
// one for a later day the rollup had found empty. The admin API's
// aggregates must equal a direct sum over the raw rows at once, after the
// next rollup, and (from the rollup) once retention deleted the rows
// (issue 8, item 8).
func TestAggregatesCountLateRecords(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	ctx := context.Background()
	st := g.Server.Store
	var userID, keyID, providerID, pk int64
	if err := st.Pool.QueryRow(ctx, `SELECT u.id, k.id FROM users u JOIN api_keys k ON k.user_id = u.id`).Scan(&userID, &keyID); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool.QueryRow(ctx, `SELECT p.id, k.id FROM providers p JOIN provider_keys k ON k.provider_id = p.id WHERE p.name = 'p-openai' AND k.name = 'primary'`).Scan(&providerID, &pk); err != nil {
		t.Fatal(err)
	}

	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	from, to := day, day.AddDate(0, 0, 2)
	plan := []llm.Candidate{{Index: 0, ProviderID: providerID, Provider: "p-openai", KeyID: pk, KeyName: "primary", UpstreamModel: "gpt-4o-mini"}}
	meta := func(id string, at time.Time) llm.RequestMeta {
		return llm.RequestMeta{RequestID: id, UserID: userID, APIKeyID: keyID, Model: "gpt-4o-mini", Format: llm.FormatOpenAI,
			Operation: llm.OpGenerate, Stream: true, ReceivedAt: at, Deadline: at.Add(10 * time.Minute)}
	}
	progress := func(id string, at time.Time, status llm.Status) {
		t.Helper()
		p := store.RequestProgress{Meta: meta(id, at), Plan: plan, Status: status}
		if status == llm.StatusStreaming {
			p.FirstByteAt = at.Add(time.Second)
		}
		if err := st.RecordProgress(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	final := func(id string, at, end time.Time, tokens int64) {
		t.Helper()
		out := llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: 0,
			Usage:      llm.Usage{InputTokens: tokens, OutputTokens: tokens / 10, CacheWrite1hTokens: 7, Known: true},
			Attempts:   []llm.Attempt{{CandidateIndex: 0, KeyID: pk, Outcome: llm.OutcomeSuccess, StatusCode: 200, StartedAt: at}},
			FinishedAt: end, Total: end.Sub(at)}
		cost := llm.PicoUSD(tokens) * 150_000
		if _, err := st.RecordFinal(ctx, store.FinalRecord{Meta: meta(id, at), Plan: plan, FirstByteAt: at.Add(time.Second), Outcome: out,
			ProviderID: providerID, Provider: "p-openai", ProviderKeyID: pk, UpstreamModel: "gpt-4o-mini",
			Cost: &store.Cost{Input: cost, Total: cost, Actual: cost, Multiplier: 1_000_000}}); err != nil {
			t.Fatal(err)
		}
	}
	rollup := func() []string {
		t.Helper()
		days, err := st.RollupDue(ctx, from.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range days {
			if _, err := st.RollupDay(ctx, d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Format(time.DateOnly))
		}
		return out
	}
	aggregates := func(group string) []store.Aggregate {
		t.Helper()
		code, _, body := a.do("GET", "/requests/aggregate?group_by="+group+"&from="+url.QueryEscape(from.Format(time.RFC3339))+
			"&to="+url.QueryEscape(to.Format(time.RFC3339)), nil)
		if code != 200 {
			t.Fatalf("aggregate: %d %s", code, body)
		}
		var v struct{ Rows []store.Aggregate }
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v.Rows
	}
	rawCols := map[string]string{"model": "model", "user": "coalesce(user_id, 0)::text", "provider": "coalesce(provider, '')"}
	raw := func(group string) []store.Aggregate {
		t.Helper()
		// Column expressions from the fixed map above.
		rows, err := st.Pool.Query(ctx, `SELECT (created_at AT TIME ZONE 'UTC')::date::text, `+rawCols[group]+`, count(*),
			count(*) FILTER (WHERE status <> 'completed'), sum(input_tokens), sum(output_tokens),
			sum(cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens), sum(total_tokens), sum(coalesce(total_cost_usd, 0))::numeric(24, 12)::text
			FROM requests WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`, from, to)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []store.Aggregate
		for rows.Next() {
			var r store.Aggregate
			if err := rows.Scan(&r.Day, &r.Group, &r.Requests, &r.Failed, &r.InputTokens, &r.OutputTokens, &r.CacheTokens, &r.TotalTokens, &r.CostUSD); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	check := func(when string) map[string][]store.Aggregate {
		t.Helper()
		want := map[string][]store.Aggregate{}
		for group := range rawCols {
			want[group] = raw(group)
			if got := aggregates(group); !reflect.DeepEqual(got, want[group]) {
				t.Fatalf("%s, group_by=%s:\n admin API %+v\n raw rows  %+v", when, group, got, want[group])
			}
		}
		return want
	}

	// The day as the rollup finds it: two requests done, one whose final
	// event is held up by an outage, one stream still running at midnight.
	final("done-1", day.Add(9*time.Hour), day.Add(9*time.Hour+time.Second), 1000)
	final("done-2", day.Add(15*time.Hour), day.Add(15*time.Hour+time.Second), 3000)
	progress("late", day.Add(10*time.Hour), llm.StatusPending)
	progress("midnight", day.Add(24*time.Hour-30*time.Second), llm.StatusStreaming)
	if got := rollup(); !reflect.DeepEqual(got, []string{day.Format(time.DateOnly), day.AddDate(0, 0, 1).Format(time.DateOnly)}) {
		t.Fatalf("first rollup summed %v", got)
	}
	check("after the first rollup")

	// Recorded late: after the outage, after midnight, and a request of
	// the next day, which the rollup had found empty.
	final("late", day.Add(10*time.Hour), day.Add(10*time.Hour+2*time.Second), 5000)
	final("midnight", day.Add(24*time.Hour-30*time.Second), day.Add(24*time.Hour+40*time.Second), 9000)
	final("next-day", day.Add(30*time.Hour), day.Add(30*time.Hour+time.Second), 2000)
	want := check("after the late records")
	if want["model"][0].Failed != 0 || want["model"][0].Requests != 4 || len(want["model"]) != 2 {
		t.Fatalf("raw rows: %+v", want["model"])
	}

	// The next rollup sums the changed days again; then retention deletes
	// the raw rows and the aggregates come from the rollup alone.
	if got := rollup(); len(got) != 2 {
		t.Fatalf("second rollup summed %v, want the two changed days", got)
	}
	check("after the second rollup")
	if got := rollup(); len(got) != 0 {
		t.Fatalf("a rollup with nothing changed summed %v", got)
	}
	if _, err := st.Pool.Exec(ctx, `DELETE FROM requests WHERE created_at < $1`, to); err != nil {
		t.Fatal(err)
	}
	for group, w := range want {
		if got := aggregates(group); !reflect.DeepEqual(got, w) {
			t.Fatalf("after retention, group_by=%s:\n admin API %+v\n before    %+v", group, got, w)
		}
	}
}
