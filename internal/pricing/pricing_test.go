package pricing

import (
	"testing"

	"aether/internal/llm"
)

func m(v llm.Micros) *llm.Micros { return &v }

// usd converts a decimal dollar string written in the test into pico-USD,
// so expected values read like the hand computation.
func usd(t *testing.T, s string) llm.PicoUSD {
	t.Helper()
	// Reuse the exact parser: dollars with up to 12 places via two halves.
	whole, frac := s, ""
	for i := range s {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
		}
	}
	for len(frac) < 12 {
		frac += "0"
	}
	w, err := llm.ParseMicros(whole)
	if err != nil {
		t.Fatal(err)
	}
	f, err := llm.ParseMicros("0." + frac[:6])
	if err != nil {
		t.Fatal(err)
	}
	g, err := llm.ParseMicros("0." + frac[6:12])
	if err != nil {
		t.Fatal(err)
	}
	return llm.PicoUSD(int64(w)*1_000_000 + int64(f)*1_000_000 + int64(g))
}

func TestCostPerFormat(t *testing.T) {
	sonnet := Price{Input: 3_000_000, Output: 15_000_000, CacheRead: m(300_000), CacheWrite5m: m(3_750_000), CacheWrite1h: m(6_000_000),
		LongThreshold: 200_000, LongInput: m(6_000_000), LongOutput: m(22_500_000), LongCacheRead: m(600_000), LongCacheWrite5m: m(7_500_000), LongCacheWrite1h: m(12_000_000)}
	mini := Price{Input: 150_000, Output: 600_000, CacheRead: m(75_000)}
	flash := Price{Input: 300_000, Output: 2_500_000, CacheRead: m(30_000)}
	one := Options{Multiplier: 1_000_000, Succeeded: true}
	tests := []struct {
		name  string
		price Price
		usage llm.Usage
		opts  Options
		total string
		long  bool
	}{
		// Anthropic: 1000 uncached input, 2000 cache read, 500 5m write,
		// 100 1h write, 300 output.
		// 1000×3 + 2000×0.3 + 500×3.75 + 100×6 + 300×15 = 3000+600+1875+600+4500 = 10575 µ$ per M... /1e6
		{"anthropic with cache buckets", sonnet, llm.Usage{InputTokens: 1000, CacheReadTokens: 2000, CacheWrite5mTokens: 500, CacheWrite1hTokens: 100, OutputTokens: 300}, one, "0.010575", false},
		// OpenAI: prompt 1200 of which 1000 cached → 200 uncached; 50 output incl. 20 reasoning.
		// 200×0.15 + 1000×0.075 + 50×0.6 = 30+75+30 = 135 µ$·M → 0.000135
		{"openai cached and reasoning", mini, llm.Usage{InputTokens: 200, CacheReadTokens: 1000, OutputTokens: 50, ReasoningTokens: 20}, one, "0.000135", false},
		// Gemini: prompt 10000 incl. 4000 cached; candidates 100 + thoughts 400 = 500 output.
		// 6000×0.3 + 4000×0.03 + 500×2.5 = 1800+120+1250 = 3170 → 0.00317
		{"gemini thoughts as output", flash, llm.Usage{InputTokens: 6000, CacheReadTokens: 4000, OutputTokens: 500, ReasoningTokens: 400}, one, "0.00317", false},
		// Long context: prompt 150000+60000 = 210000 > 200000 → long rates.
		// 150000×6 + 60000×0.6 + 1000×22.5 = 900000+36000+22500 = 958500 → 0.9585
		{"anthropic long context tier", sonnet, llm.Usage{InputTokens: 150_000, CacheReadTokens: 60_000, OutputTokens: 1000}, one, "0.9585", true},
		// Exactly at the threshold stays on the base tier: 200000×3 = 600000 → 0.6
		{"threshold is inclusive of base tier", sonnet, llm.Usage{InputTokens: 200_000}, one, "0.6", false},
		// Per-request price only on success.
		{"per request charged", Price{PerRequest: 10_000}, llm.Usage{}, one, "0.01", false},
		{"per request not charged on failure", Price{PerRequest: 10_000}, llm.Usage{}, Options{Multiplier: 1_000_000}, "0", false},
		// Missing cache prices: read at input price, 5m write 1.25×, 1h write 2×.
		// 100×1 (read) + 100×1.25 + 100×2 = 425 → 0.000425
		{"default cache prices", Price{Input: 1_000_000}, llm.Usage{CacheReadTokens: 100, CacheWrite5mTokens: 100, CacheWrite1hTokens: 100}, one, "0.000425", false},
		// One token at $0.075/M is 0.075 µ$: exact in pico.
		{"sub-micro-dollar exact", mini, llm.Usage{CacheReadTokens: 1}, one, "0.000000075", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Cost(tt.price, tt.usage, tt.opts)
			if want := usd(t, tt.total); b.Total != want {
				t.Fatalf("total = %s, want %s", b.Total, want)
			}
			if b.Input+b.Output+b.CacheRead+b.CacheWrite+b.Request != b.Total {
				t.Fatal("buckets do not add up to the total")
			}
			if b.LongContext != tt.long {
				t.Fatalf("long context = %v", b.LongContext)
			}
			if b.Actual != b.Total {
				t.Fatalf("actual %s differs from total %s at multiplier 1", b.Actual, b.Total)
			}
		})
	}
}

func TestMultiplierAndFreeTier(t *testing.T) {
	p := Price{Input: 3_000_000, Output: 15_000_000}
	u := llm.Usage{InputTokens: 1000, OutputTokens: 1000} // 0.018 USD
	b := Cost(p, u, Options{Multiplier: 800_000, Succeeded: true})
	if b.Total != usd(t, "0.018") || b.Actual != usd(t, "0.0144") {
		t.Fatalf("total %s actual %s", b.Total, b.Actual)
	}
	free := Cost(p, u, Options{Multiplier: 1_000_000, FreeTier: true, Succeeded: true})
	if free.Total != usd(t, "0.018") || free.Actual != 0 {
		t.Fatalf("free tier: total %s actual %s", free.Total, free.Actual)
	}
	// A big request does not overflow: 10M output tokens at $75/M = $750.
	big := Cost(Price{Output: 75_000_000}, llm.Usage{OutputTokens: 10_000_000}, Options{Multiplier: 1_500_000})
	if big.Total != usd(t, "750") || big.Actual != usd(t, "1125") {
		t.Fatalf("big: total %s actual %s", big.Total, big.Actual)
	}
}

func TestParseLiteLLM(t *testing.T) {
	doc := []byte(`{
		"sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0},
		"claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07,
			"cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
			"input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05},
		"tiny": {"input_cost_per_token": 7.5e-08, "output_cost_per_token": 3e-07},
		"dall-e": {"output_cost_per_pixel": 1e-08}
	}`)
	tab, err := ParseLiteLLM(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab) != 2 {
		t.Fatalf("entries: %v", tab)
	}
	c := tab["claude-x"]
	if c.Input != 3_000_000 || c.Output != 15_000_000 || *c.CacheRead != 300_000 || *c.CacheWrite5m != 3_750_000 || *c.CacheWrite1h != 6_000_000 {
		t.Fatalf("claude-x = %+v", c)
	}
	if c.LongThreshold != 200_000 || *c.LongInput != 6_000_000 || *c.LongOutput != 22_500_000 {
		t.Fatalf("long tier = %+v", c)
	}
	if tab["tiny"].Input != 75_000 {
		t.Fatalf("tiny input = %d", tab["tiny"].Input)
	}
	if _, err := ParseLiteLLM([]byte(`{"bad": {"input_cost_per_token": -1, "output_cost_per_token": 1}}`)); err == nil {
		t.Fatal("negative price accepted")
	}
}

func TestDefaultsCoverDevModels(t *testing.T) {
	d := Defaults()
	for _, m := range []string{"gpt-4o-mini", "gpt-5-codex", "claude-sonnet-4-5", "gemini-2.5-flash", "openai/gpt-4o"} {
		if _, ok := d.Lookup(m); !ok {
			t.Errorf("no default price for %s", m)
		}
	}
	if p, _ := d.Lookup("gemini-2.5-flash"); p.Input != 300_000 || *p.CacheRead != 30_000 {
		t.Fatalf("gemini-2.5-flash = %+v", p)
	}
}

// TestLongContextOneHourCacheWrites: in the long-context tier a 1-hour
// cache write costs the long-context 1-hour price; a source without one
// derives it from the long input price with the base tier's ratio, and so
// for the other cache buckets (issue 8, item 11).
func TestLongContextOneHourCacheWrites(t *testing.T) {
	one := Options{Multiplier: 1_000_000, Succeeded: true}
	// Prompt 250000 > 200000: 240000 uncached input, 10000 1-hour writes.
	long := llm.Usage{InputTokens: 240_000, CacheWrite1hTokens: 10_000}
	base := Price{Input: 3_000_000, Output: 15_000_000, CacheRead: m(300_000), CacheWrite5m: m(3_750_000), CacheWrite1h: m(6_000_000),
		LongThreshold: 200_000, LongInput: m(6_000_000)}
	explicit := base
	explicit.LongCacheWrite1h = m(13_000_000)
	noBase1h := base
	noBase1h.CacheWrite1h = nil // base 1h = 2 × input by default
	odd := Price{Input: 3_000_000, CacheWrite1h: m(7_000_000), LongThreshold: 200_000, LongInput: m(4_000_000)}
	tests := []struct {
		name   string
		price  Price
		usage  llm.Usage
		rate1h llm.Micros
		total  string
	}{
		// 240000×6 + 10000×13 = 1440000 + 130000 µ$ → $1.57
		{"explicit long 1h price", explicit, long, 13_000_000, "1.57"},
		// 6 × 6/3 = 12: 240000×6 + 10000×12 → $1.56
		{"derived from the long input price", base, long, 12_000_000, "1.56"},
		{"derived from the default base 1h price", noBase1h, long, 12_000_000, "1.56"},
		// 7 × 4/3 = 9.333333…: rounded to 9.333333 $/M.
		// 240000×4 + 10000×9.333333 = 960000 + 93333.33 µ$ → $1.05333333
		{"derived price rounds to the micro-dollar", odd, long, 9_333_333, "1.05333333"},
		// Below the threshold the base 1h price applies: 10000×6 + 1000×3.
		{"base tier", explicit, llm.Usage{InputTokens: 1000, CacheWrite1hTokens: 10_000}, 6_000_000, "0.063"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Cost(tt.price, tt.usage, one)
			if b.Rates.CacheWrite1h != tt.rate1h {
				t.Fatalf("1h write rate %s, want %s", b.Rates.CacheWrite1h, tt.rate1h)
			}
			if want := usd(t, tt.total); b.Total != want {
				t.Fatalf("total %s, want %s", b.Total, want)
			}
		})
	}
	// The other long cache buckets follow the same rule: read 0.3 × 2,
	// 5-minute write 3.75 × 2.
	r := Cost(base, long, one).Rates
	if r.CacheRead != 600_000 || r.CacheWrite5m != 7_500_000 {
		t.Fatalf("derived long cache read %s, 5m write %s", r.CacheRead, r.CacheWrite5m)
	}
	// No base input price: nothing to scale by, the base price stays.
	if r := Cost(Price{CacheWrite1h: m(5_000_000), LongThreshold: 10, LongInput: m(1_000_000)}, long, one).Rates; r.CacheWrite1h != 5_000_000 {
		t.Fatalf("zero base input: 1h rate %s", r.CacheWrite1h)
	}
}

// TestLongOneHourPriceFromPriceFiles: the import reads LiteLLM's
// long-context 1-hour key, and the embedded table prices Claude's long
// 1-hour writes at $12/M (2 × the long input price).
func TestLongOneHourPriceFromPriceFiles(t *testing.T) {
	tab, err := ParseLiteLLM([]byte(`{"claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
		"cache_creation_input_token_cost_above_1hr": 6e-06, "input_cost_per_token_above_200k_tokens": 6e-06,
		"cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.3e-05}}`))
	if err != nil {
		t.Fatal(err)
	}
	long := llm.Usage{InputTokens: 240_000, CacheWrite1hTokens: 10_000}
	one := Options{Multiplier: 1_000_000, Succeeded: true}
	if c := tab["claude-x"]; c.LongCacheWrite1h == nil || *c.LongCacheWrite1h != 13_000_000 || Cost(c, long, one).Rates.CacheWrite1h != 13_000_000 {
		t.Fatalf("imported long 1h price: %+v", c)
	}
	for _, name := range []string{"claude-sonnet-4-5", "claude-sonnet-4"} {
		p, _ := Defaults().Lookup(name)
		if b := Cost(p, long, one); b.Rates.CacheWrite1h != 12_000_000 || b.Total != usd(t, "1.56") {
			t.Fatalf("%s long 1h rate %s, total %s", name, b.Rates.CacheWrite1h, b.Total)
		}
	}
}
