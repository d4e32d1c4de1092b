package catalog

import (
	"testing"

	"aether/internal/llm"
	"aether/internal/store"
)

// TestCostOfPatternModels: the API charges budgets for a name a pattern
// serves with the pattern's price, else the embedded table's price for the
// name; a name priced nowhere has no cost (unknown, never zero).
func TestCostOfPatternModels(t *testing.T) {
	s := Build(&store.ConfigSet{
		Providers: []store.Provider{{ID: 1, Name: "p", Active: true}},
		Models: []store.Model{
			{ID: 1, Name: "priced-*", Active: true},
			{ID: 2, Name: "*", Active: true},
		},
		Routes: []store.ModelRoute{{ModelID: 1, ProviderID: 1, Active: true}, {ModelID: 2, ProviderID: 1, Active: true}},
		Prices: []store.Price{{ModelID: 1, Input: 4_000_000, Output: 16_000_000}},
	})
	u := llm.Usage{InputTokens: 1000, OutputTokens: 500, Known: true}
	tests := []struct {
		model string
		cost  llm.PicoUSD
		known bool
	}{
		{"priced-large", 12_000_000_000, true}, // 1000×4 + 500×16 µ$ = $0.012
		{"gpt-6.1-sol", 7_000_000_000, true},   // the table: 1000×2 + 500×10 µ$
		{"house-model-nowhere", 0, false},
	}
	for _, tt := range tests {
		m, ok := s.Model(tt.model)
		if !ok || m.Name != tt.model || len(m.Routes) != 1 || m.Routes[0].UpstreamModel != tt.model {
			t.Fatalf("%s: model %+v (found %v)", tt.model, m, ok)
		}
		c := llm.Candidate{ProviderID: 1, UpstreamModel: m.Routes[0].UpstreamModel}
		cost, known := s.Cost(m, c, u, true)
		if cost != tt.cost || known != tt.known {
			t.Errorf("%s: cost %d known %v, want %d %v", tt.model, cost, known, tt.cost, tt.known)
		}
	}
}
