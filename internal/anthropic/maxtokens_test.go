package anthropic

import "testing"

// TestDefaultMaxTokens: a request from a client that sets no limit (Codex
// sends none) gets room for a long answer on current Claude models, and a
// limit the Claude 3 and 3.5 models accept.
func TestDefaultMaxTokens(t *testing.T) {
	for model, want := range map[string]int64{
		"claude-sonnet-4-5-20250929": 32000,
		"claude-opus-4-8":            32000,
		"claude-3-7-sonnet-20250219": 32000,
		"claude-3-5-haiku-20241022":  8192,
		"claude-3-haiku-20240307":    4096,
		"deepseek-chat":              32000,
	} {
		if got := defaultMaxTokens(model); got != want {
			t.Errorf("defaultMaxTokens(%q) = %d, want %d", model, got, want)
		}
	}
}
