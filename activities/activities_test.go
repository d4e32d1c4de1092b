package activities_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"aether/activities"
	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const seedYAML = `
providers:
  - name: p1
    endpoints: [{format: openai, base_url: "http://127.0.0.1:1"}]
    keys:
      - {name: k1, secret: secret-one-0000}
models:
  - name: priced
    routes: [{provider: p1}]
  - name: unpriced-house-model
    routes: [{provider: p1}]
  - name: house-*
    routes: [{provider: p1}]
  - name: priced-*
    routes: [{provider: p1}]
  - name: claude-*
    routes: [{provider: p1}]
prices:
  - {model: priced, input: 2, output: 8}
  - {model: priced-*, input: 4, output: 16}
users:
  - name: alice
    keys: [{name: alice-key, key: sk-alice-key-0001}]
`

type fixture struct {
	st             *store.Store
	acts           *activities.Activities
	userID, keyID  int64
	providerID, pk int64
	unpriced       []string
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
	fx := &fixture{st: st}
	fx.acts = &activities.Activities{Store: st, Prices: pricing.Defaults(),
		UnpricedHook: func(model string) { fx.unpriced = append(fx.unpriced, model) }}
	for sql, dst := range map[string]*int64{
		`SELECT id FROM users WHERE name = 'alice'`:        &fx.userID,
		`SELECT id FROM api_keys WHERE name = 'alice-key'`: &fx.keyID,
		`SELECT id FROM providers WHERE name = 'p1'`:       &fx.providerID,
		`SELECT id FROM provider_keys WHERE name = 'k1'`:   &fx.pk,
	} {
		if err := st.Pool.QueryRow(context.Background(), sql).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

// final is a completed request for model on the fixture's only key:
// 1,000 input and 500 output tokens.
func (fx *fixture) final(id, model string) activities.FinalInput {
	at := time.Now().UTC().Truncate(time.Millisecond)
	return activities.FinalInput{
		Meta: llm.RequestMeta{RequestID: id, UserID: fx.userID, User: "alice", APIKeyID: fx.keyID, Model: model,
			Format: llm.FormatOpenAI, Operation: llm.OpGenerate, ReceivedAt: at, Deadline: at.Add(10 * time.Minute)},
		Plan: []llm.Candidate{{Index: 0, ProviderID: fx.providerID, Provider: "p1", KeyID: fx.pk, KeyName: "k1", UpstreamModel: model}},
		Outcome: llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: 0,
			Usage:      llm.Usage{InputTokens: 1000, OutputTokens: 500, Known: true},
			Attempts:   []llm.Attempt{{CandidateIndex: 0, KeyID: fx.pk, Outcome: llm.OutcomeSuccess, StatusCode: 200, StartedAt: at, Latency: time.Second}},
			FinishedAt: at.Add(time.Second), Total: time.Second},
	}
}

// spend is the user's and the gateway key's spend and the request row's
// cost, as text.
func (fx *fixture) spend(t *testing.T, id string) (user, key, cost string, known bool) {
	t.Helper()
	err := fx.st.Pool.QueryRow(context.Background(), `SELECT
		(SELECT spend_usd::text FROM users WHERE id = $2), (SELECT spend_usd::text FROM api_keys WHERE id = $3),
		coalesce(total_cost_usd::text, ''), cost_known FROM requests WHERE request_id = $1`, id, fx.userID, fx.keyID).Scan(&user, &key, &cost, &known)
	if err != nil {
		t.Fatal(err)
	}
	return user, key, cost, known
}

func (fx *fixture) count(t *testing.T, sql, id string) int {
	t.Helper()
	var n int
	if err := fx.st.Pool.QueryRow(context.Background(), sql, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRecordFinalIdempotent: RecordFinal called twice for one request ID
// (a retried or replayed activity) writes one row, one audit line and
// charges the spend once; the spend equals the recorded cost.
func TestRecordFinalIdempotent(t *testing.T) {
	fx := newFixture(t)
	in := fx.final("act-twice", "priced")
	first, err := fx.acts.RecordFinal(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// 1,000 × $2/M + 500 × $8/M = $0.006.
	if !first.Applied || first.Status != llm.StatusCompleted || !first.CostKnown || first.CostUSD != 0.006 || first.TotalTokens != 1500 || first.Provider != "p1" {
		t.Fatalf("first call: %+v", first)
	}
	second, err := fx.acts.RecordFinal(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if second.Applied || second.Status != llm.StatusCompleted {
		t.Fatalf("second call: %+v, want not applied and the recorded status", second)
	}
	if n := fx.count(t, `SELECT count(*) FROM requests WHERE request_id = $1`, in.Meta.RequestID); n != 1 {
		t.Errorf("%d request rows", n)
	}
	if n := fx.count(t, `SELECT count(*) FROM audit_log WHERE request_id = $1`, in.Meta.RequestID); n != 1 {
		t.Errorf("%d audit lines", n)
	}
	user, key, cost, known := fx.spend(t, in.Meta.RequestID)
	if !known || cost != "0.006000000000" || user != cost || key != cost {
		t.Errorf("cost %s (known %v), user spend %s, key spend %s: want one charge of 0.006", cost, known, user, key)
	}
}

// TestRecordFinalUnpriced: a model priced neither in the database nor in
// the default table is recorded with its cost unknown, never as zero,
// charges nothing and is reported to the hook.
func TestRecordFinalUnpriced(t *testing.T) {
	fx := newFixture(t)
	in := fx.final("act-unpriced", "unpriced-house-model")
	res, err := fx.acts.RecordFinal(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied || res.CostKnown {
		t.Fatalf("result %+v, want applied with cost unknown", res)
	}
	user, key, cost, known := fx.spend(t, in.Meta.RequestID)
	if known || cost != "" || user != "0.000000000000" || key != "0.000000000000" {
		t.Errorf("cost %q (known %v), user spend %s, key spend %s", cost, known, user, key)
	}
	if len(fx.unpriced) != 1 || fx.unpriced[0] != "unpriced-house-model" {
		t.Errorf("unpriced hook saw %v", fx.unpriced)
	}
}

// TestRecordProgressNeverMovesBack: progress after progress, or after the
// final record, never moves a request's status backwards.
func TestRecordProgressNeverMovesBack(t *testing.T) {
	fx := newFixture(t)
	in := fx.final("act-progress", "priced")
	progress := func(s llm.Status) {
		t.Helper()
		if err := fx.acts.RecordProgress(context.Background(), activities.ProgressInput{Meta: in.Meta, Plan: in.Plan, Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	status := func() string {
		t.Helper()
		var s string
		if err := fx.st.Pool.QueryRow(context.Background(), `SELECT status FROM requests WHERE request_id = $1`, in.Meta.RequestID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	progress(llm.StatusStreaming)
	progress(llm.StatusPending)
	if s := status(); s != "streaming" {
		t.Fatalf("after streaming then pending: %s", s)
	}
	if _, err := fx.acts.RecordFinal(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	progress(llm.StatusStreaming)
	if s := status(); s != "completed" {
		t.Fatalf("progress after the final record: %s", s)
	}
	if n := fx.count(t, `SELECT count(*) FROM request_attempts WHERE request_id = $1`, in.Meta.RequestID); n != 1 {
		t.Errorf("%d attempt rows, want the plan's one", n)
	}
}

// TestInvalidInputIsNotRetried: inputs no retry can fix fail with a
// non-retryable error of type ErrInvalidInput and write nothing.
func TestInvalidInputIsNotRetried(t *testing.T) {
	fx := newFixture(t)
	noID := fx.final("", "priced")
	notFinal := fx.final("act-not-final", "priced")
	notFinal.Outcome.Status = llm.StatusStreaming
	for name, call := range map[string]func() error{
		"progress without request ID": func() error {
			return fx.acts.RecordProgress(context.Background(), activities.ProgressInput{Meta: noID.Meta, Status: llm.StatusPending})
		},
		"final without request ID": func() error { _, err := fx.acts.RecordFinal(context.Background(), noID); return err },
		"final with a status that is not final": func() error {
			_, err := fx.acts.RecordFinal(context.Background(), notFinal)
			return err
		},
	} {
		err := call()
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrInvalidInput {
			t.Errorf("%s: %v, want a non-retryable %s", name, err, activities.ErrInvalidInput)
		}
	}
	if n := fx.count(t, `SELECT count(*) FROM requests WHERE request_id = $1 OR request_id = ''`, "act-not-final"); n != 0 {
		t.Errorf("%d rows written", n)
	}
}
