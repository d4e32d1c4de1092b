package openai

import (
	"bytes"
	"encoding/json"

	"aether/internal/llm"
)

// usageJSON covers both APIs: Chat Completions (prompt_tokens,
// completion_tokens) and Responses (input_tokens, output_tokens). In both,
// the input count includes cached tokens and the output count includes
// reasoning tokens (docs/wire-formats.md, "Usage semantics per provider").
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

func (u *usageJSON) normalise() llm.Usage {
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
	return llm.Usage{InputTokens: in - cached, CacheReadTokens: cached, OutputTokens: out, ReasoningTokens: reasoning, Known: true}
}

// BodyUsage implements llm.Dialect for chat.completion and response objects.
func (Dialect) BodyUsage(body []byte) llm.Usage {
	if u, present, ok := fastUsage(body); ok {
		if !present {
			return llm.Usage{}
		}
		return u.normalise()
	}
	var v struct {
		Usage *usageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &v) != nil || v.Usage == nil {
		return llm.Usage{}
	}
	return v.Usage.normalise()
}

// UsageMember implements llm.Dialect.
func (Dialect) UsageMember() string { return "usage" }

// stream observes Chat Completions and Responses streams; which one it is
// shows in the events (Responses events are named). How each ends is in
// docs/wire-formats.md.
type stream struct {
	injected bool
	usage    llm.Usage
	// finished: a chat chunk carried a finish_reason.
	finished bool
	// terminal: response.completed or response.incomplete came.
	terminal bool
	failed   bool
}

// NewStream implements llm.Dialect.
func (Dialect) NewStream(injectedUsage bool) llm.StreamObserver {
	return &stream{injected: injectedUsage}
}

var done = []byte("[DONE]")

func (s *stream) Observe(name string, data []byte) bool {
	if name == "" && len(data) == 0 {
		return true // comment or keep-alive
	}
	if bytes.Equal(data, done) {
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
		// incomplete is a normal end with partial output (max tokens,
		// content filter); failed is the upstream's failure.
		if name == "response.failed" {
			s.failed = true
		} else {
			s.terminal = true
		}
		return true
	case "error":
		s.failed = true
		return true
	case "":
	default:
		return true // other Responses events carry no usage
	}
	// Chat Completions chunk.
	if llm.HasErrorObject(data) {
		s.failed = true // an error object after the first chunk
		return true
	}
	if !s.finished && hasFinishReason(data) {
		s.finished = true
	}
	// Only chunks that mention usage are decoded.
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

var finishKey = []byte(`"finish_reason"`)

// hasFinishReason reports whether a chunk's finish_reason is a string (it
// is null until the choice ends). Text inside JSON strings cannot match:
// its quotes are escaped.
func hasFinishReason(data []byte) bool {
	for {
		i := bytes.Index(data, finishKey)
		if i < 0 {
			return false
		}
		data = bytes.TrimLeft(data[i+len(finishKey):], " \t\r\n")
		if len(data) > 0 && data[0] == ':' {
			if v := bytes.TrimLeft(data[1:], " \t\r\n"); len(v) > 0 && v[0] == '"' {
				return true
			}
		}
	}
}

func (s *stream) IsError(name string, data []byte) bool {
	if name == "error" || name == "response.failed" {
		return true
	}
	return name == "" && llm.HasErrorObject(data)
}

func (s *stream) Usage() llm.Usage { return s.usage }

// Complete: a Responses stream's response.completed or
// response.incomplete, or a finish_reason in a chat stream. [DONE] alone
// does not make a chat answer whole, and a stream that closes after its
// finish_reason without [DONE] (some OpenAI-compatible servers) is not
// taken for a truncated one.
func (s *stream) Complete() bool { return s.terminal || s.finished }

func (s *stream) Failed() bool { return s.failed }
