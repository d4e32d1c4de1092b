// Package pricing turns normalised usage into an exact cost. Prices are
// llm.Micros (USD per million tokens) and costs llm.PicoUSD, so every
// multiplication is exact integer arithmetic: a bill computed twice, or by
// two replicas, is the same to the last pico-dollar.
package pricing

import (
	"math"
	"math/bits"

	"aether/internal/llm"
)

// Price is one model's price (optionally for one provider).
type Price struct {
	Input, Output llm.Micros
	// Optional buckets; when nil, defaults apply (see Cost).
	CacheRead, CacheWrite5m, CacheWrite1h *llm.Micros
	// Long-context tier: when the prompt exceeds LongThreshold tokens,
	// every bucket uses its Long price. A missing LongInput or LongOutput
	// falls back to the base price; a missing long cache price is derived
	// (see Cost).
	LongThreshold                                     int64
	LongInput, LongOutput                             *llm.Micros
	LongCacheRead, LongCacheWrite5m, LongCacheWrite1h *llm.Micros
	PerRequest                                        llm.Micros
	Source                                            string
}

// Breakdown is the cost of one request. List-price fields are what the
// caller is charged; Actual is list × the provider key's rate multiplier,
// what the provider bills (zero on free-tier keys).
type Breakdown struct {
	Input, Output, CacheRead, CacheWrite, Request, Total llm.PicoUSD
	Actual                                               llm.PicoUSD
	LongContext                                          bool
	// Rates actually applied, for the price snapshot on the request row.
	Rates Rates
}

// Rates are the per-million prices applied to each bucket.
type Rates struct {
	Input        llm.Micros `json:"input"`
	Output       llm.Micros `json:"output"`
	CacheRead    llm.Micros `json:"cache_read"`
	CacheWrite5m llm.Micros `json:"cache_write_5m"`
	CacheWrite1h llm.Micros `json:"cache_write_1h"`
	PerRequest   llm.Micros `json:"per_request"`
	Multiplier   llm.Micros `json:"rate_multiplier"`
	LongContext  bool       `json:"long_context"`
	Source       string     `json:"source,omitempty"`
}

// Options are the request facts besides usage that change the price.
type Options struct {
	// Multiplier is the provider key's rate multiplier (1.0 = 1_000_000).
	Multiplier llm.Micros
	FreeTier   bool
	// Succeeded: the per-request price is charged only for answered requests.
	Succeeded bool
}

func or(p *llm.Micros, d llm.Micros) llm.Micros {
	if p == nil {
		return d
	}
	return *p
}

// Cost prices usage. Missing cache prices default conservatively: a cache
// read costs the input price (no discount is assumed), a 5-minute cache
// write 1.25× input and a 1-hour write 2× input (Anthropic's published
// multipliers; only Anthropic bills cache writes). In the long-context
// tier, a cache price the source lacks keeps the base tier's ratio to the
// input price: long 1-hour write = long input × base 1-hour write / base
// input (docs/pricing.md).
func Cost(p Price, u llm.Usage, o Options) Breakdown {
	r := Rates{Input: p.Input, Output: p.Output, PerRequest: p.PerRequest, Multiplier: o.Multiplier, Source: p.Source}
	r.CacheRead = or(p.CacheRead, p.Input)
	r.CacheWrite5m = or(p.CacheWrite5m, p.Input*5/4)
	r.CacheWrite1h = or(p.CacheWrite1h, p.Input*2)
	if p.LongThreshold > 0 && u.PromptTokens() > p.LongThreshold {
		r.LongContext = true
		r.Input = or(p.LongInput, r.Input)
		r.Output = or(p.LongOutput, r.Output)
		r.CacheRead = orScaled(p.LongCacheRead, r.CacheRead, r.Input, p.Input)
		r.CacheWrite5m = orScaled(p.LongCacheWrite5m, r.CacheWrite5m, r.Input, p.Input)
		r.CacheWrite1h = orScaled(p.LongCacheWrite1h, r.CacheWrite1h, r.Input, p.Input)
	}
	// tokens × USD-per-million in micro-dollars = pico-dollars, exactly.
	mul := func(tokens int64, rate llm.Micros) llm.PicoUSD { return llm.PicoUSD(tokens * int64(rate)) }
	b := Breakdown{LongContext: r.LongContext, Rates: r}
	b.Input = mul(u.InputTokens, r.Input)
	b.Output = mul(u.OutputTokens, r.Output)
	b.CacheRead = mul(u.CacheReadTokens, r.CacheRead)
	b.CacheWrite = mul(u.CacheWrite5mTokens, r.CacheWrite5m) + mul(u.CacheWrite1hTokens, r.CacheWrite1h)
	if o.Succeeded {
		b.Request = llm.PicoUSD(int64(r.PerRequest) * 1_000_000) // micro-dollars to pico-dollars
	}
	b.Total = b.Input + b.Output + b.CacheRead + b.CacheWrite + b.Request
	if !o.FreeTier {
		b.Actual = scale(b.Total, o.Multiplier)
	}
	return b
}

// orScaled returns the long-context price p, or, when the source has none,
// the base price scaled by longInput / baseInput, rounded half up to the
// micro-dollar per million tokens. Without a base input price (or a
// product too large to be a price) the base price is kept.
func orScaled(p *llm.Micros, base, longInput, baseInput llm.Micros) llm.Micros {
	if p != nil {
		return *p
	}
	if baseInput <= 0 || longInput == baseInput || base < 0 || longInput < 0 {
		return base
	}
	hi, lo := bits.Mul64(uint64(base), uint64(longInput))
	lo, carry := bits.Add64(lo, uint64(baseInput)/2, 0)
	hi += carry
	if hi >= uint64(baseInput) {
		return base
	}
	q, _ := bits.Div64(hi, lo, uint64(baseInput))
	if q > math.MaxInt64 {
		return base
	}
	return llm.Micros(q)
}

// scale returns v × m / 10⁶ rounded half up, split so that v × m cannot
// overflow for any request costing under a million dollars.
func scale(v llm.PicoUSD, m llm.Micros) llm.PicoUSD {
	q, r := int64(v)/1_000_000, int64(v)%1_000_000
	return llm.PicoUSD(q*int64(m) + (r*int64(m)+500_000)/1_000_000)
}
