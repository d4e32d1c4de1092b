// Package canon is the canonical model the translator speaks between API
// formats (issue 12): one request, response, stream event and error shape
// that every format's codec decodes into and encodes from. A format's codec
// lives in that format's package; internal/translate pairs them. What maps
// to what, and what is dropped on purpose, is in docs/translation.md.
package canon

import (
	"encoding/json"

	"aether/internal/llm"
)

// Role is who wrote a message. System text is not a message: it is
// Request.System, wherever the format puts it.
type Role string

// The roles. A tool result travels in a user message (Anthropic's shape);
// a Chat "tool" message decodes to one.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// BlockType names the kind of a content block.
type BlockType string

// The block types.
const (
	BlockText             BlockType = "text"
	BlockImage            BlockType = "image"
	BlockToolCall         BlockType = "tool_call"
	BlockToolResult       BlockType = "tool_result"
	BlockThinking         BlockType = "thinking"
	BlockRedactedThinking BlockType = "redacted_thinking"
)

// Block is one piece of a message. Which fields are set depends on Type:
//
//   - text: Text.
//   - image: MediaType and Data (base64), or URL.
//   - tool_call: ID, Name, Arguments (a JSON object; "{}" when empty).
//   - tool_result: ID (the call's), Content (text and image blocks), IsError.
//   - thinking: Text and Signature (either may be empty).
//   - redacted_thinking: Data (opaque, passed back as received).
type Block struct {
	Type      BlockType       `json:"type"`
	Text      string          `json:"text,omitempty"`
	Signature string          `json:"signature,omitempty"`
	MediaType string          `json:"media_type,omitempty"`
	Data      string          `json:"data,omitempty"`
	URL       string          `json:"url,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Content   []Block         `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
}

// Message is one turn of the conversation.
type Message struct {
	Role    Role    `json:"role"`
	Content []Block `json:"content"`
}

// Tool is a function the model may call. Parameters is a JSON Schema
// object.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ToolChoiceMode says whether and which tool the model must call.
type ToolChoiceMode string

// The tool choice modes.
const (
	ToolAuto     ToolChoiceMode = "auto"
	ToolNone     ToolChoiceMode = "none"
	ToolRequired ToolChoiceMode = "required" // any tool
	ToolNamed    ToolChoiceMode = "tool"     // the tool named in ToolChoice.Name
)

// ToolChoice is the request's tool choice; nil in Request means the
// format's default.
type ToolChoice struct {
	Mode ToolChoiceMode `json:"mode"`
	Name string         `json:"name,omitempty"`
}

// ResponseFormatType is the shape the answer's text must have.
type ResponseFormatType string

// The response formats.
const (
	FormatText       ResponseFormatType = "text"
	FormatJSONObject ResponseFormatType = "json_object"
	FormatJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat is JSON mode (json_object) or structured output
// (json_schema, with Schema a JSON Schema object).
type ResponseFormat struct {
	Type   ResponseFormatType `json:"type"`
	Name   string             `json:"name,omitempty"`
	Schema json.RawMessage    `json:"schema,omitempty"`
	Strict *bool              `json:"strict,omitempty"`
}

// Reasoning asks for extended thinking: an effort ("minimal", "low",
// "medium", "high") or a token budget, or both; Disabled turns it off.
type Reasoning struct {
	Effort       string `json:"effort,omitempty"`
	BudgetTokens int64  `json:"budget_tokens,omitempty"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// Request is one generation request. Zero and nil fields are absent: the
// encoder leaves them out and the upstream's default applies.
type Request struct {
	Model    string    `json:"model"`
	System   []Block   `json:"system,omitempty"` // text blocks
	Messages []Message `json:"messages"`
	Tools    []Tool    `json:"tools,omitempty"`
	// ToolChoice nil is the format's default (auto when tools are given).
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	// ParallelToolCalls false forbids several calls in one turn; nil is
	// the default (allowed).
	ParallelToolCalls *bool    `json:"parallel_tool_calls,omitempty"`
	MaxTokens         int64    `json:"max_tokens,omitempty"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	Stop              []string `json:"stop,omitempty"`
	Stream            bool     `json:"stream,omitempty"`
	// StreamUsage: the client wants usage in its stream where its format
	// makes it optional (Chat's stream_options.include_usage).
	StreamUsage    bool            `json:"stream_usage,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	Reasoning      *Reasoning      `json:"reasoning,omitempty"`
	// User identifies the end user (Anthropic metadata.user_id, Chat user).
	User string `json:"user,omitempty"`
}

// StopReason is why the model stopped.
type StopReason string

// The stop reasons; docs/translation.md maps each format's to these.
const (
	StopEndTurn       StopReason = "end_turn"
	StopMaxTokens     StopReason = "max_tokens"
	StopSequence      StopReason = "stop_sequence"
	StopToolUse       StopReason = "tool_use"
	StopContentFilter StopReason = "content_filter" // also Anthropic "refusal"
	StopPause         StopReason = "pause_turn"
)

// Response is one complete (non-stream) answer.
type Response struct {
	ID           string     `json:"id"`
	Model        string     `json:"model"`
	Content      []Block    `json:"content"`
	StopReason   StopReason `json:"stop_reason,omitempty"`
	StopSequence string     `json:"stop_sequence,omitempty"`
	Usage        llm.Usage  `json:"usage"`
}

// ErrorType is the class of an error, whatever its format.
type ErrorType string

// The error types (Anthropic's classes, which the other formats' map onto).
const (
	ErrInvalidRequest ErrorType = "invalid_request_error"
	ErrAuthentication ErrorType = "authentication_error"
	ErrPermission     ErrorType = "permission_error"
	ErrNotFound       ErrorType = "not_found_error"
	ErrTooLarge       ErrorType = "request_too_large"
	ErrRateLimit      ErrorType = "rate_limit_error"
	ErrAPI            ErrorType = "api_error"
	ErrOverloaded     ErrorType = "overloaded_error"
)

// Error is an upstream error, re-shaped into the client's format with its
// status kept. Status is 0 for an error event inside a stream.
type Error struct {
	Status  int       `json:"status"`
	Type    ErrorType `json:"type"`
	Message string    `json:"message"`
	// Code is a finer code when the upstream gave one (OpenAI "code").
	Code string `json:"code,omitempty"`
}

func (e *Error) Error() string { return string(e.Type) + ": " + e.Message }

// TypeForStatus is the error type an HTTP status implies, for an error body
// that names none.
func TypeForStatus(status int) ErrorType {
	switch {
	case status == 400 || status == 422:
		return ErrInvalidRequest
	case status == 401:
		return ErrAuthentication
	case status == 403:
		return ErrPermission
	case status == 404:
		return ErrNotFound
	case status == 413:
		return ErrTooLarge
	case status == 429:
		return ErrRateLimit
	case status == 503 || status == 529:
		return ErrOverloaded
	case status >= 400 && status < 500:
		return ErrInvalidRequest
	default:
		return ErrAPI
	}
}
