package admin_test

import (
	"fmt"
	"testing"

	"aether/internal/llm"
)

// TestAdminLongContextOneHourPrice: a long-context 1-hour cache write price
// set through the admin API, or imported from a LiteLLM price file, is what
// the gateway prices a long-context request with 1-hour cache writes at;
// without one, the price is derived from the long input price with the
// base tier's ratio (issue 8, item 11).
func TestAdminLongContextOneHourPrice(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	// A 250000-token prompt: 240000 uncached input, 10000 1-hour writes.
	long := llm.Usage{InputTokens: 240_000, CacheWrite1hTokens: 10_000, Known: true}
	cost := func() string {
		t.Helper()
		snap := g.Server.Catalog.Current()
		m, ok := snap.Model("claude-sonnet-4-5")
		if !ok {
			t.Fatal("model missing from the snapshot")
		}
		c, ok := snap.Cost(m, llm.Candidate{}, long, true)
		if !ok {
			t.Fatal("no price")
		}
		return c.String()
	}
	longOneHour := func() any {
		t.Helper()
		code, v, body := a.do("GET", "/prices", nil)
		if code != 200 {
			t.Fatalf("list prices: %d %s", code, body)
		}
		for _, p := range v["prices"].([]any) {
			p := p.(map[string]any)
			if p["model"] == "claude-sonnet-4-5" {
				lc, _ := p["long_context"].(map[string]any)
				return lc["cache_write_1h"]
			}
		}
		t.Fatalf("no price for claude-sonnet-4-5: %s", body)
		return nil
	}

	put := func(longContext map[string]any) {
		t.Helper()
		if code, _, body := a.do("PUT", "/prices/claude-sonnet-4-5", map[string]any{"input": "3", "output": "15", "cache_write_1h": "6",
			"long_context": longContext}); code != 200 {
			t.Fatalf("put price: %d %s", code, body)
		}
	}
	// Set: 240000 × $6/M + 10000 × $13/M.
	put(map[string]any{"threshold": 200000, "input": "6", "cache_write_1h": "13"})
	if got := fmt.Sprint(longOneHour()); got != "13" {
		t.Fatalf("GET /prices long_context.cache_write_1h = %v", got)
	}
	if got := cost(); got != "1.57" {
		t.Fatalf("cost with the long 1-hour price set: %s", got)
	}
	// Not set: derived, 6 × 6/3 = $12/M.
	put(map[string]any{"threshold": 200000, "input": "6"})
	if got := cost(); got != "1.56" {
		t.Fatalf("cost with the long 1-hour price derived: %s", got)
	}
	// Imported from LiteLLM's key: $14/M.
	doc := `{"claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
		"cache_creation_input_token_cost_above_1hr": 6e-06, "input_cost_per_token_above_200k_tokens": 6e-06,
		"cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.4e-05}}`
	if code, _, body := a.do("POST", "/prices/import?overwrite=true", doc); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	if got := fmt.Sprint(longOneHour()); got != "14" {
		t.Fatalf("GET /prices after import: long_context.cache_write_1h = %v", got)
	}
	if got := cost(); got != "1.58" {
		t.Fatalf("cost with the imported long 1-hour price: %s", got)
	}
}
