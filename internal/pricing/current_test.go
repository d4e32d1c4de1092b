package pricing

import (
	"testing"

	"aether/internal/llm"
)

// TestDefaultsCoverCLIDefaults: the embedded table prices today's default
// model of each CLI (issue 10) at its list price, and gpt-6.1-sol's
// long-context tier starts above 272K prompt tokens.
func TestDefaultsCoverCLIDefaults(t *testing.T) {
	d := Defaults()
	tests := []struct {
		model         string
		input, output llm.Micros
		cacheRead     llm.Micros
	}{
		{"claude-opus-4-8", 5_000_000, 25_000_000, 500_000},
		{"gpt-6.1-sol", 2_000_000, 10_000_000, 100_000},
		{"gemini-3.5-flash-lite", 300_000, 2_500_000, 30_000},
	}
	for _, tt := range tests {
		p, ok := d.Lookup(tt.model)
		if !ok || p.Input != tt.input || p.Output != tt.output || p.CacheRead == nil || *p.CacheRead != tt.cacheRead {
			t.Errorf("%s = %+v (found %v)", tt.model, p, ok)
		}
	}
	p, _ := d.Lookup("gpt-6.1-sol")
	if p.LongThreshold != 272_000 || p.LongInput == nil || *p.LongInput != 4_000_000 || *p.LongOutput != 15_000_000 || *p.LongCacheRead != 200_000 {
		t.Fatalf("gpt-6.1-sol long tier = %+v", p)
	}
	if p, _ := d.Lookup("claude-opus-4-8"); p.LongThreshold != 0 {
		t.Fatalf("claude-opus-4-8 has no long-context tier: %+v", p)
	}
}
