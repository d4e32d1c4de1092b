package openai

import (
	"bytes"
	"encoding/json"

	"aether/internal/core"
)

// usageJSON covers both APIs: Chat Completions (prompt_tokens,
// completion_tokens) and Responses (input_tokens, output_tokens). In both,
// the input count includes cached tokens and the output count includes
// reasoning tokens (reference/clients.md).
type usageJSON struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	InputTokens         int64 `json:"input_tokens"`
	OutputTokens        int64 `json:"output_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *usageJSON) normalise() core.Usage {
	in, out := u.PromptTokens+u.InputTokens, u.CompletionTokens+u.OutputTokens
	var cached, reasoning int64
	if u.PromptTokensDetails != nil {
		cached += u.PromptTokensDetails.CachedTokens
	}
	if u.InputTokensDetails != nil {
		cached += u.InputTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		reasoning += u.CompletionTokensDetails.ReasoningTokens
	}
	if u.OutputTokensDetails != nil {
		reasoning += u.OutputTokensDetails.ReasoningTokens
	}
	cached = min(cached, in)
	return core.Usage{InputTokens: in - cached, CacheReadTokens: cached, OutputTokens: out, ReasoningTokens: reasoning, Known: true}
}

// BodyUsage implements core.Dialect for chat.completion and response objects.
func (Dialect) BodyUsage(body []byte) core.Usage {
	var v struct {
		Usage *usageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &v) != nil || v.Usage == nil {
		return core.Usage{}
	}
	return v.Usage.normalise()
}

// stream observes Chat Completions and Responses streams; which one it is
// shows in the events (Responses events are named).
type stream struct {
	injected bool
	usage    core.Usage
	complete bool
}

// NewStream implements core.Dialect.
func (Dialect) NewStream(injectedUsage bool) core.StreamObserver {
	return &stream{injected: injectedUsage}
}

var done = []byte("[DONE]")

func (s *stream) Observe(name string, data []byte) bool {
	if name == "" && len(data) == 0 {
		return true // comment or keep-alive
	}
	if bytes.Equal(data, done) {
		s.complete = true
		return true
	}
	switch name {
	case "response.completed", "response.incomplete", "response.failed":
		var v struct {
			Response struct {
				Usage *usageJSON `json:"usage"`
			} `json:"response"`
		}
		if json.Unmarshal(data, &v) == nil && v.Response.Usage != nil {
			s.usage = v.Response.Usage.normalise()
		}
		s.complete = true
		return true
	case "":
	default:
		return true // other Responses events carry no usage
	}
	// Chat Completions chunk. Only chunks that mention usage are decoded.
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return true
	}
	var chunk struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   *usageJSON        `json:"usage"`
	}
	if json.Unmarshal(data, &chunk) != nil || chunk.Usage == nil {
		return true
	}
	s.usage = chunk.Usage.normalise()
	// The usage-only chunk the gateway asked for on the client's behalf is
	// not part of what this client expects to receive.
	return !(s.injected && len(chunk.Choices) == 0)
}

func (s *stream) IsError(name string, data []byte) bool {
	if name == "error" || name == "response.failed" {
		return true
	}
	return name == "" && core.HasErrorObject(data)
}

func (s *stream) Usage() core.Usage { return s.usage }
func (s *stream) Complete() bool    { return s.complete }
