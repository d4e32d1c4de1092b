// Package gemini is Aether's edge for the Gemini API (generateContent,
// streamGenerateContent, countTokens): auth header, error shape, stream
// inspection and usage.
package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"

	"aether/internal/core"
)

// Dialect implements core.Dialect for Gemini.
type Dialect struct{}

// Format implements core.Dialect.
func (Dialect) Format() core.Format { return core.FormatGemini }

// SetAuth implements core.Dialect.
func (Dialect) SetAuth(h http.Header, key string) { h.Set("x-goog-api-key", key) }

var kinds = map[core.ErrorKind]string{
	core.KindInvalidRequest: "INVALID_ARGUMENT",
	core.KindAuthentication: "UNAUTHENTICATED",
	core.KindPermission:     "PERMISSION_DENIED",
	core.KindNotFound:       "NOT_FOUND",
	core.KindTooLarge:       "INVALID_ARGUMENT",
	core.KindRateLimit:      "RESOURCE_EXHAUSTED",
	core.KindUnavailable:    "UNAVAILABLE",
	core.KindUpstream:       "UNAVAILABLE",
	core.KindInternal:       "INTERNAL",
}

// WriteError implements core.Dialect: {"error":{"code","message","status"}}.
func (Dialect) WriteError(w http.ResponseWriter, status int, kind core.ErrorKind, message string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message, "status": kinds[kind]}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// usageJSON is usageMetadata. promptTokenCount includes the cached tokens;
// thoughtsTokenCount is billed as output but is not in candidatesTokenCount
// (reference/clients.md).
type usageJSON struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
}

func (u *usageJSON) normalise() core.Usage {
	prompt := u.PromptTokenCount + u.ToolUsePromptTokenCount
	cached := min(u.CachedContentTokenCount, prompt)
	return core.Usage{
		InputTokens: prompt - cached, CacheReadTokens: cached,
		OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount, ReasoningTokens: u.ThoughtsTokenCount,
		Known: true,
	}
}

// BodyUsage implements core.Dialect.
func (Dialect) BodyUsage(body []byte) core.Usage {
	var v struct {
		UsageMetadata *usageJSON `json:"usageMetadata"`
	}
	if json.Unmarshal(body, &v) != nil || v.UsageMetadata == nil {
		return core.Usage{}
	}
	return v.UsageMetadata.normalise()
}

// UsageMember implements core.Dialect.
func (Dialect) UsageMember() string { return "usageMetadata" }

type stream struct {
	usage    core.Usage
	complete bool
	failed   bool
}

// NewStream implements core.Dialect. Gemini reports usage on its last
// chunks without being asked.
func (Dialect) NewStream(bool) core.StreamObserver { return &stream{} }

func (s *stream) Observe(_ string, data []byte) bool {
	if core.HasErrorObject(data) {
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

func (s *stream) IsError(_ string, data []byte) bool { return core.HasErrorObject(data) }

func (s *stream) Usage() core.Usage { return s.usage }

// Complete reports whether a chunk with a finish reason (or a blocked
// prompt's blockReason) arrived; Gemini has no separate terminal event.
func (s *stream) Complete() bool { return s.complete }

func (s *stream) Failed() bool { return s.failed }
