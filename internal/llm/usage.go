package llm

// Usage is token usage normalised into disjoint buckets, whatever the wire
// format reported (docs/wire-formats.md, "Usage semantics per provider"):
//   - InputTokens excludes cache reads and cache writes;
//   - OutputTokens includes reasoning; ReasoningTokens is the part of
//     OutputTokens spent on reasoning, for display only.
//
// Pricing multiplies each bucket by its own price, so nothing is counted
// twice and nothing is dropped.
type Usage struct {
	InputTokens        int64 `json:"input_tokens"`
	CacheReadTokens    int64 `json:"cache_read_tokens,omitempty"`
	CacheWrite5mTokens int64 `json:"cache_write_5m_tokens,omitempty"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	OutputTokens       int64 `json:"output_tokens"`
	ReasoningTokens    int64 `json:"reasoning_tokens,omitempty"`
	// Known is false when the upstream reported no usage at all (for
	// example a stream cut before its usage event).
	Known bool `json:"known"`
}

// PromptTokens is every input-side token: uncached, cache read and cache
// writes. Long-context price tiers are chosen on this number.
func (u Usage) PromptTokens() int64 {
	return u.InputTokens + u.CacheReadTokens + u.CacheWrite5mTokens + u.CacheWrite1hTokens
}

// TotalTokens is prompt plus output tokens.
func (u Usage) TotalTokens() int64 { return u.PromptTokens() + u.OutputTokens }
