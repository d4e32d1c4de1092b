package pricing

import (
	"testing"

	"aether/internal/llm"
)

func TestQuote(t *testing.T) {
	defaults := Table{
		"m-default":  {Input: 2_000_000, Output: 4_000_000},
		"m-upstream": {Input: 5_000_000, Output: 5_000_000},
	}
	db := &Price{Input: 1_000_000, Output: 1_000_000}
	u := llm.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000, Known: true}
	one := Options{Multiplier: 1_000_000, Succeeded: true}
	for _, tc := range []struct {
		name            string
		db              *Price
		model, upstream string
		want            string // USD; "" for no price
	}{
		{"database price wins", db, "m-default", "", "2"},
		{"default table by model name", nil, "m-default", "m-upstream", "6"},
		{"default table by upstream model name", nil, "unknown", "m-upstream", "10"},
		{"provider prefix stripped", nil, "vendor/m-default", "", "6"},
		{"no price anywhere", nil, "unknown", "also-unknown", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := Quote(tc.db, defaults, tc.model, tc.upstream, u, one)
			if tc.want == "" {
				if ok {
					t.Fatalf("priced at %s, want unknown", b.Total)
				}
				return
			}
			if !ok || b.Total != usd(t, tc.want) {
				t.Fatalf("Quote = %s, %v; want %s", b.Total, ok, tc.want)
			}
		})
	}
}
