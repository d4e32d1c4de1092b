package workflows_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/internal/accounting/contract"
	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
	"aether/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const seedYAML = `
providers:
  - name: p1
    endpoints: [{format: anthropic, base_url: "http://127.0.0.1:1"}]
    keys:
      - {name: k1, secret: secret-one-0000}
      - {name: k2, secret: secret-two-0000, rate_multiplier: 0.5}
models:
  - name: claude
    routes: [{provider: p1}]
prices:
  - {model: claude, input: 3, output: 15, cache_read: 0.3, cache_write_5m: 3.75, cache_write_1h: 6}
users:
  - name: alice
    keys: [{name: alice-key, key: sk-alice-key-0001}]
`

// fixture is a migrated, seeded database and IDs from it.
type fixture struct {
	st            *store.Store
	userID, keyID int64
	providerID    int64
	pk1, pk2      int64
	acts          *activities.Activities
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := testenv.Store(t)
	box, _ := secret.NewBox(bytes.Repeat([]byte{1}, 32))
	st.Box = box
	f, err := seed.Parse("seed.yaml", []byte(seedYAML), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(context.Background(), st, f); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{st: st, acts: &activities.Activities{Store: st, Prices: pricing.Defaults()}}
	q := func(sql string, dst *int64) {
		if err := st.Pool.QueryRow(context.Background(), sql).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT id FROM users WHERE name = 'alice'`, &fx.userID)
	q(`SELECT id FROM api_keys WHERE name = 'alice-key'`, &fx.keyID)
	q(`SELECT id FROM providers WHERE name = 'p1'`, &fx.providerID)
	q(`SELECT id FROM provider_keys WHERE name = 'k1'`, &fx.pk1)
	q(`SELECT id FROM provider_keys WHERE name = 'k2'`, &fx.pk2)
	return fx
}

func (fx *fixture) input(id string, stream bool) contract.RequestInput {
	now := time.Now().UTC().Truncate(time.Second)
	return contract.RequestInput{
		Meta: llm.RequestMeta{RequestID: id, UserID: fx.userID, User: "alice", APIKeyID: fx.keyID, Model: "claude",
			Format: llm.FormatAnthropic, Operation: llm.OpGenerate, Stream: stream, ReceivedAt: now, Deadline: now.Add(10 * time.Minute)},
		Plan: []llm.Candidate{
			{Index: 0, ProviderID: fx.providerID, Provider: "p1", KeyID: fx.pk1, KeyName: "k1", UpstreamModel: "claude"},
			{Index: 1, ProviderID: fx.providerID, Provider: "p1", KeyID: fx.pk2, KeyName: "k2", UpstreamModel: "claude"},
		},
	}
}

// usage: 1000 input, 2000 cache read, 100 5m write, 500 output.
// cost = 1000×3 + 2000×0.3 + 100×3.75 + 500×15 = 3000+600+375+7500 µ$ = $0.011475
var usage = llm.Usage{InputTokens: 1000, CacheReadTokens: 2000, CacheWrite5mTokens: 100, OutputTokens: 500, Known: true}

func success(fx *fixture, idx int, at time.Time) *llm.Outcome {
	keys := []int64{fx.pk1, fx.pk2}
	return &llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: idx, Usage: usage,
		Attempts:   []llm.Attempt{{CandidateIndex: idx, KeyID: keys[idx], Outcome: llm.OutcomeSuccess, StatusCode: 200, StartedAt: at, Latency: time.Second}},
		FinishedAt: at.Add(2 * time.Second), Total: 2 * time.Second}
}

func (fx *fixture) env(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Request, workflow.RegisterOptions{Name: contract.RequestWorkflow})
	env.RegisterActivity(fx.acts)
	return env
}

type row struct {
	status, cost, actual, provider string
	tokens                         int64
	streamingAt                    *time.Time
	errorClass                     *string
	attempts                       int
}

func (fx *fixture) row(t *testing.T, id string) row {
	t.Helper()
	var r row
	var cost, actual, provider *string
	err := fx.st.Pool.QueryRow(context.Background(), `SELECT status, total_cost_usd::text, actual_cost_usd::text, provider, total_tokens, streaming_at, error_class, attempt_count
		FROM requests WHERE request_id = $1`, id).Scan(&r.status, &cost, &actual, &provider, &r.tokens, &r.streamingAt, &r.errorClass, &r.attempts)
	if err != nil {
		t.Fatalf("request row %s: %v", id, err)
	}
	for dst, src := range map[*string]*string{&r.cost: cost, &r.actual: actual, &r.provider: provider} {
		if src != nil {
			*dst = *src
		}
	}
	return r
}

func (fx *fixture) spend(t *testing.T) (user, key string) {
	t.Helper()
	if err := fx.st.Pool.QueryRow(context.Background(), `SELECT (SELECT spend_usd::text FROM users WHERE id = $1), (SELECT spend_usd::text FROM api_keys WHERE id = $2)`,
		fx.userID, fx.keyID).Scan(&user, &key); err != nil {
		t.Fatal(err)
	}
	return
}

func TestAlreadyFinishedRequest(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-normal", false)
	in.Outcome = success(fx, 0, in.Meta.ReceivedAt)
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	var st contract.State
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Status != llm.StatusCompleted || !st.CostKnown || st.TotalTokens != 3600 {
		t.Fatalf("state %+v", st)
	}
	r := fx.row(t, "wf-normal")
	if r.status != "completed" || r.cost != "0.011475000000" || r.actual != "0.011475000000" || r.provider != "p1" || r.tokens != 3600 {
		t.Fatalf("row %+v", r)
	}
	if u, k := fx.spend(t); u != "0.011475000000" || k != "0.011475000000" {
		t.Fatalf("spend user %s key %s", u, k)
	}
}

// TestRunningThenSignals: started while the stream runs; first byte and
// end arrive by signal; the status goes pending → streaming → completed.
func TestRunningThenSignals(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-stream", true)
	var midStatus llm.Status
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.SignalEvents, contract.Event{FirstByteAt: in.Meta.ReceivedAt.Add(300 * time.Millisecond)})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(contract.QueryState)
		if err != nil {
			t.Error(err)
			return
		}
		var st contract.State
		_ = v.Get(&st)
		midStatus = st.Status
		if got := fx.row(t, "wf-stream").status; got != "streaming" {
			t.Errorf("row status mid-stream = %s", got)
		}
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.SignalEvents, contract.Event{Outcome: success(fx, 0, in.Meta.ReceivedAt)})
	}, 3*time.Second)
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if midStatus != llm.StatusStreaming {
		t.Fatalf("query mid-stream: %s", midStatus)
	}
	r := fx.row(t, "wf-stream")
	if r.status != "completed" || r.streamingAt == nil {
		t.Fatalf("row %+v", r)
	}
}

// TestFailoverAttempts: two failed attempts then a success on the cheaper
// key; attempts and key health are recorded and the rate multiplier applied.
func TestFailoverAttempts(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-failover", false)
	at := in.Meta.ReceivedAt
	in.Plan = append(in.Plan, llm.Candidate{Index: 2, ProviderID: fx.providerID, Provider: "p1", KeyID: fx.pk1, KeyName: "k1", SkippedReason: "breaker_open"})
	out := success(fx, 1, at)
	out.Attempts = []llm.Attempt{
		{CandidateIndex: 0, KeyID: fx.pk1, Outcome: llm.OutcomeFailed, StatusCode: 529, ErrorClass: llm.ErrUpstreamServer, StartedAt: at, Latency: 100 * time.Millisecond},
		{CandidateIndex: 1, KeyID: fx.pk2, Outcome: llm.OutcomeSuccess, StatusCode: 200, StartedAt: at.Add(time.Second), Latency: time.Second},
	}
	out.BreakerChanges = []llm.BreakerChange{{KeyID: fx.pk1, State: "open", At: at, OpenUntil: at.Add(time.Hour)}}
	in.Outcome = out
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	r := fx.row(t, "wf-failover")
	// k2 has rate multiplier 0.5: actual is half the list price.
	if r.attempts != 2 || r.cost != "0.011475000000" || r.actual != "0.005737500000" {
		t.Fatalf("row %+v", r)
	}
	rows, err := fx.st.Pool.Query(context.Background(), `SELECT seq, outcome, coalesce(error_class, ''), coalesce(skipped_reason, '') FROM request_attempts WHERE request_id = 'wf-failover' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var seq int
		var o, c, s string
		if err := rows.Scan(&seq, &o, &c, &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, o+"/"+c+s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"failed/upstream_5xx", "success/", "skipped/breaker_open"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("attempt rows %v, want %v", got, want)
	}
	var state string
	var fails, succ int64
	if err := fx.st.Pool.QueryRow(context.Background(), `SELECT state, total_failures, (SELECT total_successes FROM provider_key_health WHERE provider_key_id = $2)
		FROM provider_key_health WHERE provider_key_id = $1`, fx.pk1, fx.pk2).Scan(&state, &fails, &succ); err != nil {
		t.Fatal(err)
	}
	if state != "open" || fails != 1 || succ != 1 {
		t.Fatalf("health: state %s failures %d successes %d", state, fails, succ)
	}
	// The durable breaker is open until the time the event carried, and
	// the API's start-up read (OpenBreakers) finds it; k2 is not open.
	open, err := fx.st.OpenBreakers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if until, ok := open[fx.pk1]; !ok || !until.Equal(at.Add(time.Hour)) || len(open) != 1 {
		t.Fatalf("open breakers %v, want k1 (%d) open until %v", open, fx.pk1, at.Add(time.Hour))
	}
}

func TestCancelledWithPartialUsage(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-cancel", true)
	in.FirstByteAt = in.Meta.ReceivedAt.Add(time.Second)
	partial := llm.Usage{InputTokens: 1000, OutputTokens: 1, Known: true}
	in.Outcome = &llm.Outcome{Status: llm.StatusCancelled, StatusCode: 499, ErrorClass: llm.ErrClientCancelled, CandidateIndex: 0, Usage: partial,
		Attempts:   []llm.Attempt{{CandidateIndex: 0, KeyID: fx.pk1, Outcome: llm.OutcomeCancelled, StatusCode: 499, StartedAt: in.Meta.ReceivedAt}},
		FinishedAt: in.Meta.ReceivedAt.Add(3 * time.Second)}
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	r := fx.row(t, "wf-cancel")
	// 1000×3 + 1×15 = 3015 µ$ = $0.003015: partial usage is billed as seen.
	if r.status != "cancelled" || r.cost != "0.003015000000" || r.tokens != 1001 {
		t.Fatalf("row %+v", r)
	}
}

// TestInterruptedAtDeadline: no final event ever comes; past the deadline
// (plus grace) the workflow closes the request as failed/interrupted.
func TestInterruptedAtDeadline(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-interrupted", true)
	env.SetStartTime(in.Meta.ReceivedAt)
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	r := fx.row(t, "wf-interrupted")
	if r.status != "failed" || r.errorClass == nil || *r.errorClass != "interrupted" {
		t.Fatalf("row %+v", r)
	}
	if u, _ := fx.spend(t); u != "0.000000000000" {
		t.Fatalf("an interrupted request with no usage was charged %s", u)
	}
}

// TestDuplicateAndOutOfOrderEvents: the end arrives before the first byte,
// then again; the request is recorded once and charged once.
func TestDuplicateAndOutOfOrderEvents(t *testing.T) {
	fx := newFixture(t)
	env := fx.env(t)
	in := fx.input("wf-dup", true)
	out := success(fx, 0, in.Meta.ReceivedAt)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.SignalEvents, contract.Event{Outcome: out})
		env.SignalWorkflow(contract.SignalEvents, contract.Event{Outcome: out})
		env.SignalWorkflow(contract.SignalEvents, contract.Event{FirstByteAt: in.Meta.ReceivedAt.Add(time.Second)})
	}, time.Second)
	env.ExecuteWorkflow(contract.RequestWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// A second execution of the same request (a replayed journal, a retried
	// activity) changes nothing.
	res, err := fx.acts.RecordFinal(context.Background(), activities.FinalInput{Meta: in.Meta, Plan: in.Plan, Outcome: *out})
	if err != nil || res.Applied {
		t.Fatalf("second RecordFinal: applied %v err %v", res.Applied, err)
	}
	if err := fx.acts.RecordProgress(context.Background(), activities.ProgressInput{Meta: in.Meta, Plan: in.Plan, Status: llm.StatusPending}); err != nil {
		t.Fatal(err)
	}
	r := fx.row(t, "wf-dup")
	if r.status != "completed" {
		t.Fatalf("status moved back to %s", r.status)
	}
	if u, k := fx.spend(t); u != "0.011475000000" || k != "0.011475000000" {
		t.Fatalf("charged twice: user %s key %s", u, k)
	}
	var audits int
	if err := fx.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE request_id = 'wf-dup'`).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Fatalf("%d audit lines", audits)
	}
}

func TestUnpricedModelRecordsCostUnknown(t *testing.T) {
	fx := newFixture(t)
	in := fx.input("wf-unpriced", false)
	in.Meta.Model = "mystery-model"
	unpriced := 0
	fx.acts.UnpricedHook = func(string) { unpriced++ }
	out := success(fx, 0, in.Meta.ReceivedAt)
	res, err := fx.acts.RecordFinal(context.Background(), activities.FinalInput{Meta: in.Meta, Plan: in.Plan, Outcome: *out})
	if err != nil || res.CostKnown || unpriced != 1 {
		t.Fatalf("res %+v err %v unpriced %d", res, err, unpriced)
	}
	var known bool
	var total *string
	if err := fx.st.Pool.QueryRow(context.Background(), `SELECT cost_known, total_cost_usd::text FROM requests WHERE request_id = 'wf-unpriced'`).Scan(&known, &total); err != nil {
		t.Fatal(err)
	}
	if known || total != nil {
		t.Fatalf("unpriced request stored cost_known=%v total=%v (want unknown, not zero)", known, total)
	}
}
