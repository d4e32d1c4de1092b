package gemini

import (
	"bytes"
	"encoding/json"

	"aether/internal/llm"
)

// usageJSON is usageMetadata. promptTokenCount includes the cached tokens;
// thoughtsTokenCount is billed as output but is not in candidatesTokenCount
// (docs/wire-formats.md, "Usage semantics per provider").
type usageJSON struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
}

func (u *usageJSON) normalise() llm.Usage {
	prompt := u.PromptTokenCount + u.ToolUsePromptTokenCount
	cached := min(u.CachedContentTokenCount, prompt)
	return llm.Usage{
		InputTokens: prompt - cached, CacheReadTokens: cached,
		OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount, ReasoningTokens: u.ThoughtsTokenCount,
		Known: true,
	}
}

// BodyUsage implements llm.Dialect.
func (Dialect) BodyUsage(body []byte) llm.Usage {
	var v struct {
		UsageMetadata *usageJSON `json:"usageMetadata"`
	}
	if json.Unmarshal(body, &v) != nil || v.UsageMetadata == nil {
		return llm.Usage{}
	}
	return v.UsageMetadata.normalise()
}

// UsageMember implements llm.Dialect.
func (Dialect) UsageMember() string { return "usageMetadata" }

type stream struct {
	usage    llm.Usage
	complete bool
	failed   bool
}

// NewStream implements llm.Dialect. Gemini reports usage on its last
// chunks without being asked.
func (Dialect) NewStream(bool) llm.StreamObserver { return &stream{} }

func (s *stream) Observe(_ string, data []byte) bool {
	if llm.HasErrorObject(data) {
		s.failed = true // an error chunk after the first
		return true
	}
	if !bytes.Contains(data, []byte(`"usageMetadata"`)) && !bytes.Contains(data, []byte(`"finishReason"`)) &&
		!bytes.Contains(data, []byte(`"blockReason"`)) {
		return true
	}
	var v struct {
		UsageMetadata *usageJSON `json:"usageMetadata"`
		Candidates    []struct {
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		PromptFeedback *struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback"`
	}
	if json.Unmarshal(data, &v) != nil {
		return true
	}
	if v.UsageMetadata != nil {
		s.usage = v.UsageMetadata.normalise()
	}
	for _, c := range v.Candidates {
		if c.FinishReason != "" {
			s.complete = true
		}
	}
	if v.PromptFeedback != nil && v.PromptFeedback.BlockReason != "" {
		s.complete = true // the prompt was blocked: no candidates follow
	}
	return true
}

func (s *stream) IsError(_ string, data []byte) bool { return llm.HasErrorObject(data) }

func (s *stream) Usage() llm.Usage { return s.usage }

// Complete reports whether a chunk with a finish reason (or a blocked
// prompt's blockReason) arrived; Gemini has no separate terminal event.
func (s *stream) Complete() bool { return s.complete }

func (s *stream) Failed() bool { return s.failed }
