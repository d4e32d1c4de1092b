package workflows_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"aether/activities"
	"aether/internal/accounting/contract"
	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/testkit/testenv"
)

const longContextYAML = `
providers:
  - name: p1
    endpoints: [{format: anthropic, base_url: "http://127.0.0.1:1"}]
    keys: [{name: k1, secret: secret-one-0000}]
models:
  - {name: c-explicit, routes: [{provider: p1}]}
  - {name: c-derived, routes: [{provider: p1}]}
  - {name: claude-sonnet-4-5, routes: [{provider: p1}]}
prices:
  - {model: c-explicit, input: 3, output: 15, cache_write_1h: 6, long_context: {threshold: 200000, input: 6, cache_write_1h: 13}}
  - {model: c-derived, input: 3, output: 15, cache_write_1h: 6, long_context: {threshold: 200000, input: 6}}
users:
  - name: alice
    keys: [{name: alice-key, key: sk-alice-key-0001}]
`

// TestLongContextOneHourCacheWritesRecorded: a long-context request (a
// 250000-token prompt) with 10000 1-hour cache writes is recorded at the
// long-context 1-hour price: set in the YAML, derived from the long input
// price with the base tier's ratio when the YAML has none, and from the
// embedded default table (issue 8, item 11).
func TestLongContextOneHourCacheWritesRecorded(t *testing.T) {
	st := testenv.Store(t)
	box, _ := secret.NewBox(bytes.Repeat([]byte{1}, 32))
	st.Box = box
	ctx := context.Background()
	f, err := seed.Parse("seed.yaml", []byte(longContextYAML), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(ctx, st, f); err != nil {
		t.Fatal(err)
	}
	var userID, keyID, providerID, pk int64
	if err := st.Pool.QueryRow(ctx, `SELECT u.id, k.id FROM users u JOIN api_keys k ON k.user_id = u.id`).Scan(&userID, &keyID); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool.QueryRow(ctx, `SELECT p.id, k.id FROM providers p JOIN provider_keys k ON k.provider_id = p.id`).Scan(&providerID, &pk); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Store: st, Prices: pricing.Defaults()}
	for _, tc := range []struct{ model, cost string }{
		{"c-explicit", "1.570000000000"},        // 240000 × $6/M + 10000 × $13/M
		{"c-derived", "1.560000000000"},         // 10000 × (6 × 6/3 = $12/M)
		{"claude-sonnet-4-5", "1.560000000000"}, // default table: long input $6/M, long 1-hour write $12/M
	} {
		t.Run(tc.model, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			id := "long-" + tc.model
			in := contract.RequestInput{
				Meta: llm.RequestMeta{RequestID: id, UserID: userID, User: "alice", APIKeyID: keyID, Model: tc.model,
					Format: llm.FormatAnthropic, Operation: llm.OpGenerate, ReceivedAt: now, Deadline: now.Add(10 * time.Minute)},
				Plan: []llm.Candidate{{Index: 0, ProviderID: providerID, Provider: "p1", KeyID: pk, KeyName: "k1", UpstreamModel: tc.model}},
				Outcome: &llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: 0,
					Usage:      llm.Usage{InputTokens: 240_000, CacheWrite1hTokens: 10_000, Known: true},
					Attempts:   []llm.Attempt{{CandidateIndex: 0, KeyID: pk, Outcome: llm.OutcomeSuccess, StatusCode: 200, StartedAt: now}},
					FinishedAt: now.Add(time.Second), Total: time.Second},
			}
			fx := &fixture{st: st, acts: acts}
			env := fx.env(t)
			env.ExecuteWorkflow(contract.RequestWorkflow, in)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var cost, rate1h string
			if err := st.Pool.QueryRow(ctx, `SELECT total_cost_usd::text, price_snapshot->>'cache_write_1h' FROM requests WHERE request_id = $1`, id).Scan(&cost, &rate1h); err != nil {
				t.Fatal(err)
			}
			if cost != tc.cost {
				t.Fatalf("recorded cost %s (1-hour write rate %s), want %s", cost, rate1h, tc.cost)
			}
		})
	}
}
