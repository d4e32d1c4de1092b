package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"aether/internal/canon"
	"aether/internal/llm"
)

// Codec translates the Messages API to and from the canonical model
// (internal/canon, issue 12). Mapping and dropped fields:
// docs/translation.md.
type Codec struct{}

// DefaultMaxTokens is the max_tokens sent upstream when the client gave
// none (Anthropic requires the field, other formats do not), for Claude 3.7
// and every later model: all of them accept at least 32,000 output tokens.
// A lower default would cut a coding agent's long answer (Codex sends no
// limit) and the turn would fail as incomplete.
const DefaultMaxTokens = 32000

// defaultMaxTokens is DefaultMaxTokens, or the lower output limit of the
// Claude 3 and 3.5 models, which refuse a max_tokens above it.
func defaultMaxTokens(model string) int64 {
	switch {
	case strings.HasPrefix(model, "claude-3-5-"):
		return 8192
	case strings.HasPrefix(model, "claude-3-") && !strings.HasPrefix(model, "claude-3-7-"):
		return 4096
	}
	return DefaultMaxTokens
}

// Thinking budgets for a reasoning effort from a format that has only
// efforts (docs/translation.md, "Reasoning").
var effortBudgets = map[string]int64{"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}

type sourceJSON struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// blockJSON decodes every content block type the codec knows.
type blockJSON struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *sourceJSON     `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
	blocks    parsedBlocks    // Content's, when readRequest read them
}

type requestJSON struct {
	Model         string            `json:"model"`
	System        json.RawMessage   `json:"system"`
	Messages      []messageJSON     `json:"messages"`
	Tools         []toolJSON        `json:"tools"`
	ToolChoice    *toolChoiceJSON   `json:"tool_choice"`
	MaxTokens     int64             `json:"max_tokens"`
	Temperature   *float64          `json:"temperature"`
	TopP          *float64          `json:"top_p"`
	StopSequences []string          `json:"stop_sequences"`
	Stream        bool              `json:"stream"`
	Metadata      *metadataJSON     `json:"metadata"`
	Thinking      *thinkingJSON     `json:"thinking"`
	OutputConfig  *outputConfigJSON `json:"output_config"`
	OutputFormat  *outputFormatJSON `json:"output_format"` // structured-outputs beta
	systemBlocks  parsedBlocks      // System's, when readRequest read them
}

type messageJSON struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	blocks  parsedBlocks    // Content's blocks, when readRequest read them
}

// parsedBlocks are content blocks readRequest decoded in its one scan,
// so the content is not scanned again.
type parsedBlocks struct {
	ok     bool
	blocks []blockJSON
}

// content decodes raw, or takes the blocks readRequest decoded.
func (p *parsedBlocks) content(raw json.RawMessage) ([]canon.Block, error) {
	if p.ok {
		return decodeBlocks(p.blocks)
	}
	return decodeContent(raw)
}

type toolJSON struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoiceJSON struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

type metadataJSON struct {
	UserID string `json:"user_id"`
}

type thinkingJSON struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens"`
}

type outputConfigJSON struct {
	Effort string            `json:"effort"`
	Format *outputFormatJSON `json:"format"`
}

type outputFormatJSON struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

func invalid(msg string) error {
	return &canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: msg}
}

// DecodeRequest reads a Messages API request body.
func (Codec) DecodeRequest(body []byte) (*canon.Request, error) {
	var in requestJSON
	if !readRequest(body, &in) {
		in = requestJSON{}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, invalid("invalid request body: " + err.Error())
		}
	}
	return in.canon()
}

func (in *requestJSON) canon() (*canon.Request, error) {
	r := &canon.Request{
		Model: in.Model, MaxTokens: in.MaxTokens, Temperature: in.Temperature, TopP: in.TopP,
		Stop: in.StopSequences, Stream: in.Stream, StreamUsage: in.Stream,
	}
	var err error
	if r.System, err = in.systemBlocks.content(in.System); err != nil {
		return nil, err
	}
	r.System = onlyText(r.System)
	for _, m := range in.Messages {
		blocks, err := m.blocks.content(m.Content)
		if err != nil {
			return nil, err
		}
		switch m.Role {
		case "user":
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Content: blocks})
		case "assistant":
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleAssistant, Content: blocks})
		case "system":
			// Claude Code may send a system entry inside messages; its text
			// joins the system prompt.
			r.System = append(r.System, onlyText(blocks)...)
		default:
			return nil, invalid("messages: unknown role " + m.Role)
		}
	}
	for _, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			continue // server tools (web_search, bash, …) have no equivalent
		}
		r.Tools = append(r.Tools, canon.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolAuto}
		case "any":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolRequired}
		case "tool":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNamed, Name: tc.Name}
		case "none":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNone}
		}
		if tc.DisableParallelToolUse {
			f := false
			r.ParallelToolCalls = &f
		}
	}
	if in.Metadata != nil {
		r.User = in.Metadata.UserID
	}
	if th := in.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			r.Reasoning = &canon.Reasoning{BudgetTokens: th.BudgetTokens}
		case "disabled":
			r.Reasoning = &canon.Reasoning{Disabled: true}
		case "adaptive":
			r.Reasoning = &canon.Reasoning{Effort: "medium"}
		}
	}
	format := in.OutputFormat
	if oc := in.OutputConfig; oc != nil {
		if oc.Effort != "" {
			if r.Reasoning == nil {
				r.Reasoning = &canon.Reasoning{}
			}
			r.Reasoning.Effort = oc.Effort
		}
		if oc.Format != nil {
			format = oc.Format
		}
	}
	if format != nil && format.Type == "json_schema" {
		r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Name: "response", Schema: format.Schema}
	}
	return r, nil
}

func onlyText(blocks []canon.Block) []canon.Block {
	out := blocks[:0]
	for _, b := range blocks {
		if b.Type == canon.BlockText {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// decodeContent reads a content member: a string or an array of blocks.
func decodeContent(raw json.RawMessage) ([]canon.Block, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("invalid content: " + err.Error())
		}
		return []canon.Block{{Type: canon.BlockText, Text: s}}, nil
	}
	in, ok := readBlocks(raw)
	if !ok {
		in = nil
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, invalid("invalid content: " + err.Error())
		}
	}
	return decodeBlocks(in)
}

func decodeBlocks(in []blockJSON) ([]canon.Block, error) {
	out := make([]canon.Block, 0, len(in))
	for _, b := range in {
		cb, ok, err := decodeBlock(b)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, cb)
		}
	}
	return out, nil
}

// decodeBlock gives false for block types with no canonical equivalent
// (documents, server tool blocks, citations).
func decodeBlock(b blockJSON) (canon.Block, bool, error) {
	switch b.Type {
	case "text":
		return canon.Block{Type: canon.BlockText, Text: b.Text}, true, nil
	case "image":
		if b.Source == nil {
			return canon.Block{}, false, invalid("image without source")
		}
		switch b.Source.Type {
		case "base64":
			return canon.Block{Type: canon.BlockImage, MediaType: b.Source.MediaType, Data: b.Source.Data}, true, nil
		case "url":
			return canon.Block{Type: canon.BlockImage, URL: b.Source.URL}, true, nil
		}
		return canon.Block{}, false, nil
	case "tool_use":
		args := b.Input
		if len(bytes.TrimSpace(args)) == 0 || bytes.Equal(bytes.TrimSpace(args), []byte("null")) {
			args = json.RawMessage("{}")
		}
		return canon.Block{Type: canon.BlockToolCall, ID: b.ID, Name: b.Name, Arguments: args}, true, nil
	case "tool_result":
		content, err := b.blocks.content(b.Content)
		if err != nil {
			return canon.Block{}, false, err
		}
		return canon.Block{Type: canon.BlockToolResult, ID: b.ToolUseID, Content: content, IsError: b.IsError}, true, nil
	case "thinking":
		return canon.Block{Type: canon.BlockThinking, Text: b.Thinking, Signature: b.Signature}, true, nil
	case "redacted_thinking":
		return canon.Block{Type: canon.BlockRedactedThinking, Data: b.Data}, true, nil
	}
	return canon.Block{}, false, nil
}

// EncodeRequest writes a Messages API request body by appending
// (appendRequest); a request it cannot write goes to encodeRequestJSON.
func (Codec) EncodeRequest(r *canon.Request) ([]byte, error) {
	if b, ok := appendRequest(make([]byte, 0, 4096), r); ok {
		return b, nil
	}
	return encodeRequestJSON(r)
}

// encodeRequestJSON writes a Messages API request body with
// encoding/json; appendRequest writes the same bytes.
func encodeRequestJSON(r *canon.Request) ([]byte, error) {
	out := map[string]any{"model": r.Model}
	maxTokens := r.MaxTokens
	if maxTokens <= 0 {
		maxTokens = defaultMaxTokens(r.Model)
	}
	if len(r.System) > 0 {
		out["system"] = encodeBlocks(r.System)
	}
	msgs := make([]any, 0, len(r.Messages))
	for _, m := range r.Messages {
		content := encodeBlocks(m.Content)
		if len(content) == 0 {
			continue // Anthropic rejects an empty message
		}
		msgs = append(msgs, map[string]any{"role": string(m.Role), "content": content})
	}
	out["messages"] = msgs
	if len(r.Tools) > 0 {
		tools := make([]any, len(r.Tools))
		for i, t := range r.Tools {
			schema := t.Parameters
			if !isObject(schema) {
				schema = json.RawMessage(`{"type":"object"}`)
			}
			tool := map[string]any{"name": t.Name, "input_schema": schema}
			if t.Description != "" {
				tool["description"] = t.Description
			}
			tools[i] = tool
		}
		out["tools"] = tools
	}
	// tool_choice only with tools: the API rejects it alone.
	if tc := r.ToolChoice; len(r.Tools) > 0 && (tc != nil || r.ParallelToolCalls != nil && !*r.ParallelToolCalls) {
		choice := map[string]any{"type": "auto"}
		if tc != nil {
			switch tc.Mode {
			case canon.ToolNone:
				choice["type"] = "none"
			case canon.ToolRequired:
				choice["type"] = "any"
			case canon.ToolNamed:
				choice["type"], choice["name"] = "tool", tc.Name
			}
		}
		if r.ParallelToolCalls != nil && !*r.ParallelToolCalls && choice["type"] != "none" {
			choice["disable_parallel_tool_use"] = true
		}
		out["tool_choice"] = choice
	}
	if r.Temperature != nil {
		out["temperature"] = *r.Temperature
	}
	if r.TopP != nil {
		out["top_p"] = *r.TopP
	}
	if len(r.Stop) > 0 {
		out["stop_sequences"] = r.Stop
	}
	if r.Stream {
		out["stream"] = true
	}
	if r.User != "" {
		out["metadata"] = map[string]any{"user_id": r.User}
	}
	if rs := r.Reasoning; rs != nil {
		switch {
		case rs.Disabled:
			out["thinking"] = map[string]any{"type": "disabled"}
		case rs.BudgetTokens > 0 || rs.Effort != "":
			if budget, ok := thinkingBudget(r, maxTokens); ok {
				out["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
				// Anthropic refuses temperature and top_p other than its
				// defaults with thinking on.
				delete(out, "temperature")
				delete(out, "top_p")
			}
		}
	}
	if f := r.ResponseFormat; f != nil && f.Type == canon.FormatJSONSchema && isObject(f.Schema) {
		out["output_config"] = map[string]any{"format": map[string]any{"type": "json_schema", "schema": f.Schema}}
	}
	out["max_tokens"] = maxTokens
	return json.Marshal(out)
}

// minThinkingBudget is Anthropic's smallest budget_tokens.
const minThinkingBudget = 1024

// thinkingBudget is the budget_tokens for a request asking for reasoning,
// or false when thinking must stay off for Anthropic to accept the request
// (docs/translation.md, "Reasoning"):
//
//   - the budget must be below max_tokens, which counts thinking as Chat's
//     max_completion_tokens counts reasoning: a larger budget is halved
//     into it, and a max_tokens too small for the minimum budget turns
//     thinking off;
//   - a forced tool choice (any, tool) cannot be combined with thinking;
//   - an assistant turn with tool calls being continued must start with a
//     signed thinking block, which history from another provider lacks.
func thinkingBudget(r *canon.Request, maxTokens int64) (int64, bool) {
	budget := r.Reasoning.BudgetTokens
	if budget <= 0 {
		budget = effortBudgets[r.Reasoning.Effort]
	}
	budget = max(budget, minThinkingBudget)
	if budget >= maxTokens {
		budget = max(maxTokens/2, minThinkingBudget)
	}
	if budget >= maxTokens {
		return 0, false
	}
	if tc := r.ToolChoice; tc != nil && (tc.Mode == canon.ToolRequired || tc.Mode == canon.ToolNamed) {
		return 0, false
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		m := r.Messages[i]
		if m.Role != canon.RoleAssistant {
			continue
		}
		calls, signed := false, len(m.Content) > 0 && (m.Content[0].Type == canon.BlockRedactedThinking ||
			anthropicSigned(m.Content[0]))
		for _, b := range m.Content {
			calls = calls || b.Type == canon.BlockToolCall
		}
		if calls && !signed {
			return 0, false
		}
		break
	}
	return budget, true
}

// anthropicSigned reports whether a thinking block carries a signature
// Anthropic may have made: a Gemini thoughtSignature travels behind
// "gemini:" and OpenAI's encrypted reasoning behind "openai:"
// (docs/translation.md, "Gemini", "OpenAI Responses"), and Anthropic would
// refuse them.
func anthropicSigned(b canon.Block) bool {
	return b.Type == canon.BlockThinking && b.Signature != "" &&
		!strings.HasPrefix(b.Signature, "gemini:") && !strings.HasPrefix(b.Signature, "openai:")
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

// Encoded block shapes; field order follows the API's examples.
type (
	textOut struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	imageOut struct {
		Type   string     `json:"type"`
		Source sourceJSON `json:"source"`
	}
	toolUseOut struct {
		Type  string          `json:"type"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	}
	toolResultOut struct {
		Type      string `json:"type"`
		ToolUseID string `json:"tool_use_id"`
		Content   []any  `json:"content,omitempty"`
		IsError   bool   `json:"is_error,omitempty"`
	}
	thinkingOut struct {
		Type      string `json:"type"`
		Thinking  string `json:"thinking"`
		Signature string `json:"signature"`
	}
	redactedOut struct {
		Type string `json:"type"`
		Data string `json:"data"`
	}
)

func encodeBlocks(blocks []canon.Block) []any {
	out := make([]any, 0, len(blocks))
	for _, b := range blocks {
		if v := encodeBlock(b); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// encodeBlock gives nil for a block Anthropic cannot take: empty text, a
// thinking block without a signature (Anthropic verifies signatures; text
// from another provider's reasoning has none).
func encodeBlock(b canon.Block) any {
	switch b.Type {
	case canon.BlockText:
		if b.Text == "" {
			return nil
		}
		return textOut{"text", b.Text}
	case canon.BlockImage:
		if b.URL != "" {
			return imageOut{"image", sourceJSON{Type: "url", URL: b.URL}}
		}
		return imageOut{"image", sourceJSON{Type: "base64", MediaType: b.MediaType, Data: b.Data}}
	case canon.BlockToolCall:
		args := b.Arguments
		if !isObject(args) {
			args = json.RawMessage("{}")
		}
		return toolUseOut{"tool_use", b.ID, b.Name, args}
	case canon.BlockToolResult:
		return toolResultOut{"tool_result", b.ID, encodeBlocks(b.Content), b.IsError}
	case canon.BlockThinking:
		if !anthropicSigned(b) {
			return nil
		}
		return thinkingOut{"thinking", b.Text, b.Signature}
	case canon.BlockRedactedThinking:
		return redactedOut{"redacted_thinking", b.Data}
	}
	return nil
}

// Stop reasons both ways (docs/translation.md, "Stop reasons").
var stopFromAnthropic = map[string]canon.StopReason{
	"end_turn":                      canon.StopEndTurn,
	"max_tokens":                    canon.StopMaxTokens,
	"stop_sequence":                 canon.StopSequence,
	"tool_use":                      canon.StopToolUse,
	"pause_turn":                    canon.StopPause,
	"refusal":                       canon.StopContentFilter,
	"model_context_window_exceeded": canon.StopMaxTokens,
}

var stopToAnthropic = map[canon.StopReason]string{
	canon.StopEndTurn:       "end_turn",
	canon.StopMaxTokens:     "max_tokens",
	canon.StopSequence:      "stop_sequence",
	canon.StopToolUse:       "tool_use",
	canon.StopPause:         "pause_turn",
	canon.StopContentFilter: "refusal",
}

func stopOut(s canon.StopReason) string {
	if v, ok := stopToAnthropic[s]; ok {
		return v
	}
	return "end_turn"
}

type responseJSON struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Model        string          `json:"model"`
	Content      json.RawMessage `json:"content"`
	StopReason   string          `json:"stop_reason"`
	StopSequence string          `json:"stop_sequence"`
	Usage        *usageJSON      `json:"usage"`
	blocks       parsedBlocks    // Content's, when readResponse read them
}

// DecodeResponse reads a Messages API response body.
func (Codec) DecodeResponse(body []byte) (*canon.Response, error) {
	return decodeResponse(body, true)
}

// decodeResponse is DecodeResponse; fast reads the body in one scan
// (readResponse) where it reads exactly as with json.Unmarshal.
func decodeResponse(body []byte, fast bool) (*canon.Response, error) {
	var in responseJSON
	if !fast || !readResponse(body, &in) {
		in = responseJSON{}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
	}
	if in.Type != "message" {
		return nil, errors.New("anthropic: not a message object")
	}
	content, err := in.blocks.content(in.Content)
	if err != nil {
		return nil, err
	}
	r := &canon.Response{ID: in.ID, Model: in.Model, Content: content, StopReason: stopFromAnthropic[in.StopReason], StopSequence: in.StopSequence}
	if in.Usage != nil {
		in.Usage.merge(&r.Usage)
	}
	return r, nil
}

// usageOut is usage as Anthropic writes it: input_tokens excludes cache
// reads and writes (docs/wire-formats.md, "Usage semantics per provider").
type usageOut struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreation            struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	OutputTokens int64 `json:"output_tokens"`
}

func encodeUsage(u llm.Usage) usageOut {
	o := usageOut{
		InputTokens: u.InputTokens, CacheReadInputTokens: u.CacheReadTokens,
		CacheCreationInputTokens: u.CacheWrite5mTokens + u.CacheWrite1hTokens, OutputTokens: u.OutputTokens,
	}
	o.CacheCreation.Ephemeral5m, o.CacheCreation.Ephemeral1h = u.CacheWrite5mTokens, u.CacheWrite1hTokens
	return o
}

type messageOut struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Role         string   `json:"role"`
	Model        string   `json:"model"`
	Content      []any    `json:"content"`
	StopReason   *string  `json:"stop_reason"`
	StopSequence *string  `json:"stop_sequence"`
	Usage        usageOut `json:"usage"`
}

// EncodeResponse writes a Messages API response body.
func (Codec) EncodeResponse(r *canon.Response) ([]byte, error) {
	content := make([]any, 0, len(r.Content))
	for _, b := range r.Content {
		if b.Type == canon.BlockThinking {
			// In an answer a thinking block keeps its place even unsigned.
			content = append(content, thinkingOut{"thinking", b.Text, b.Signature})
			continue
		}
		if v := encodeBlock(b); v != nil {
			content = append(content, v)
		}
	}
	stop := stopOut(r.StopReason)
	m := messageOut{ID: messageID(r.ID), Type: "message", Role: "assistant", Model: r.Model, Content: content, StopReason: &stop, Usage: encodeUsage(r.Usage)}
	if r.StopSequence != "" {
		m.StopSequence = &r.StopSequence
	}
	return json.Marshal(m)
}

// messageID keeps an upstream ID, or makes one when it had none.
func messageID(id string) string {
	if id == "" {
		return "msg_aether"
	}
	return id
}

var knownErrorTypes = map[string]bool{
	string(canon.ErrInvalidRequest): true, string(canon.ErrAuthentication): true, string(canon.ErrPermission): true,
	string(canon.ErrNotFound): true, string(canon.ErrTooLarge): true, string(canon.ErrRateLimit): true,
	string(canon.ErrAPI): true, string(canon.ErrOverloaded): true,
}

type errorJSON struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// DecodeError reads an error body ({"type":"error","error":{"type","message"}})
// or an error event's data; status is 0 for an event.
func (Codec) DecodeError(status int, body []byte) *canon.Error {
	e := &canon.Error{Status: status, Type: canon.TypeForStatus(status)}
	var in errorJSON
	if json.Unmarshal(body, &in) == nil {
		e.Message = in.Error.Message
		switch {
		case knownErrorTypes[in.Error.Type]:
			e.Type = canon.ErrorType(in.Error.Type)
		case in.Error.Type == "billing_error":
			e.Type = canon.ErrPermission
		case in.Error.Type == "timeout_error":
			e.Type = canon.ErrAPI
		}
	}
	if e.Message == "" {
		e.Message = "upstream error"
	}
	return e
}

// EncodeError writes an Anthropic error body; the caller answers with
// e.Status.
func (Codec) EncodeError(e *canon.Error) []byte {
	var out errorJSON
	out.Type, out.Error.Type, out.Error.Message = "error", string(e.Type), e.Message
	if !knownErrorTypes[out.Error.Type] {
		out.Error.Type = string(canon.ErrAPI)
	}
	b, _ := json.Marshal(out)
	return b
}
