package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"aether/internal/testkit/gatewaytest"
)

// TestBudgetCountsDefaultTablePrice: a model without a database price is
// priced from the embedded default table by the API's budget check, as
// the worker prices its record, so its spend counts against a budget at
// once (issue 9: budgets used database prices only and let such requests
// through for free until their record landed).
func TestBudgetCountsDefaultTablePrice(t *testing.T) {
	t.Parallel()
	const dbPrice = "  - {model: claude-sonnet-4-5, input: 3, output: 15, cache_read: 0.30, cache_write_5m: 3.75, cache_write_1h: 6}\n"
	if !strings.Contains(gatewaytest.DefaultYAML, dbPrice) {
		t.Fatal("DefaultYAML no longer prices claude-sonnet-4-5 as this test expects")
	}
	yaml := strings.Replace(gatewaytest.DefaultYAML, dbPrice, "", 1) +
		"  - name: keybudget\n    keys: [{name: kb-key, key: sk-keybudget-000001, budget_usd: 5}]\n"
	g := gatewaytest.New(t, gatewaytest.Options{YAML: yaml})
	ctx := context.Background()
	if _, err := g.Server.Store.Pool.Exec(ctx, `UPDATE api_keys SET spend_usd = 4.9999 WHERE name = 'kb-key'`); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.Limits.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	snap := g.Server.Catalog.Current()
	m, ok := snap.Model("claude-sonnet-4-5")
	if !ok {
		t.Fatal("model missing from the snapshot")
	}
	if p := snap.Price(m.ID, 0); p != nil {
		t.Fatalf("claude-sonnet-4-5 has a database price %+v; the test needs it priced by the default table only", p)
	}
	// The default table prices claude-sonnet-4-5 like the database did
	// in TestBudget: one request takes the key from $4.9999 past $5.
	fc := formatCalls[1]
	if resp := g.Post(t, fc.path, fc.body, fc.header("sk-keybudget-000001")); resp.StatusCode != 200 {
		t.Fatalf("request within budget: %d", resp.StatusCode)
	}
	if resp := g.Post(t, fc.path, fc.body, fc.header("sk-keybudget-000001")); resp.StatusCode != 429 {
		t.Fatalf("request after a default-priced request spent the budget: %d, want 429", resp.StatusCode)
	}
}
