package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"aether/internal/canon"
	"aether/internal/llm"
)

// ResponsesCodec translates the Responses API (POST /v1/responses, the API
// Codex CLI speaks) to and from the canonical model (internal/canon, issue
// 12). Mapping and dropped fields: docs/translation.md, "OpenAI Responses".
type ResponsesCodec struct{}

// A reasoning item carries a canonical thinking block's signature (an
// Anthropic signature, or another format's behind its own prefix) in
// encrypted_content behind SignaturePrefix, and a redacted thinking
// block's data behind RedactedPrefix, so a Responses client hands them
// back in its next request. OpenAI's own reasoning item becomes a
// thinking block whose signature is OpenAIReasoningPrefix, the item's ID,
// ":" and its encrypted content; only a Responses upstream takes it back
// (docs/translation.md, "OpenAI Responses").
const (
	SignaturePrefix       = "aether.signature:"
	RedactedPrefix        = "aether.redacted:"
	OpenAIReasoningPrefix = "openai:"
)

type responsesPartJSON struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Refusal  string          `json:"refusal"`
	ImageURL json.RawMessage `json:"image_url"` // a string; an object in some clients
}

type responsesSummaryJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// responsesItemJSON decodes every input and output item type the codec
// knows: message, function_call, function_call_output, reasoning.
type responsesItemJSON struct {
	Type             string                 `json:"type"`
	ID               string                 `json:"id"`
	Role             string                 `json:"role"`
	Content          json.RawMessage        `json:"content"`
	CallID           string                 `json:"call_id"`
	Name             string                 `json:"name"`
	Arguments        json.RawMessage        `json:"arguments"`
	Output           json.RawMessage        `json:"output"`
	Summary          []responsesSummaryJSON `json:"summary"`
	EncryptedContent string                 `json:"encrypted_content"`
	Input            string                 `json:"input"` // a custom tool call's
}

type responsesFormatJSON struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict *bool           `json:"strict"`
}

type responsesToolJSON struct {
	Type        string                `json:"type"`
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Parameters  json.RawMessage       `json:"parameters"`
	Format      *responsesGrammarJSON `json:"format"` // a custom tool's
}

type responsesGrammarJSON struct {
	Type       string `json:"type"`
	Syntax     string `json:"syntax"`
	Definition string `json:"definition"`
}

type responsesEffortJSON struct {
	Effort string `json:"effort"`
}

type responsesTextJSON struct {
	Format *responsesFormatJSON `json:"format"`
}

type responsesRequestJSON struct {
	Model              string               `json:"model"`
	Instructions       json.RawMessage      `json:"instructions"`
	Input              json.RawMessage      `json:"input"`
	Tools              []responsesToolJSON  `json:"tools"`
	ToolChoice         json.RawMessage      `json:"tool_choice"`
	ParallelToolCalls  *bool                `json:"parallel_tool_calls"`
	Reasoning          *responsesEffortJSON `json:"reasoning"`
	Text               *responsesTextJSON   `json:"text"`
	MaxOutputTokens    int64                `json:"max_output_tokens"`
	Temperature        *float64             `json:"temperature"`
	TopP               *float64             `json:"top_p"`
	Stream             bool                 `json:"stream"`
	User               string               `json:"user"`
	SafetyIdentifier   string               `json:"safety_identifier"`
	PreviousResponseID string               `json:"previous_response_id"`
}

// DecodeRequest reads a Responses request body. Input items that cannot
// be translated (built-in tool calls, item references) are dropped, and so
// are built-in tools; previous_response_id is refused, since the history
// it names is stored at OpenAI and the upstream has none of it.
func (ResponsesCodec) DecodeRequest(body []byte) (*canon.Request, error) {
	return decodeResponsesRequest(body, true)
}

// decodeResponsesRequest is DecodeRequest; fast reads the body, its input
// items and their content parts in one scan each
// (readResponsesRequest), where they read exactly as with json.Unmarshal.
func decodeResponsesRequest(body []byte, fast bool) (*canon.Request, error) {
	var in responsesRequestJSON
	if !fast || !readResponsesRequest(body, &in) {
		in = responsesRequestJSON{}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, invalid("invalid request body: " + err.Error())
		}
	}
	if in.PreviousResponseID != "" {
		return nil, invalid("previous_response_id is not supported by this model's provider: send the whole conversation in input")
	}
	r := &canon.Request{
		Model: in.Model, MaxTokens: in.MaxOutputTokens, Temperature: in.Temperature, TopP: in.TopP,
		Stream: in.Stream, StreamUsage: in.Stream, ParallelToolCalls: in.ParallelToolCalls,
		User: cmpOr(in.User, in.SafetyIdentifier),
	}
	instructions, err := decodeResponsesContent(in.Instructions, fast)
	if err != nil {
		return nil, err
	}
	r.System = textBlocks(instructions)
	if err := decodeResponsesInput(r, in.Input, fast); err != nil {
		return nil, err
	}
	for _, t := range in.Tools {
		switch t.Type {
		case "function":
			r.Tools = append(r.Tools, canon.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
		case "custom":
			note := customInputNote
			if f := t.Format; f != nil && f.Type == "grammar" && f.Definition != "" {
				note += " It must match this " + cmpOr(f.Syntax, "lark") + " grammar:\n" + f.Definition
			}
			r.Tools = append(r.Tools, canon.Tool{Name: t.Name, Description: t.Description, Parameters: customToolSchema(note)})
		}
		// Built-in tools (web_search, local_shell, …) have no equivalent.
	}
	if len(in.ToolChoice) > 0 {
		var mode string
		var named struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		switch {
		case json.Unmarshal(in.ToolChoice, &mode) == nil:
			r.ToolChoice = toolChoiceMode(mode)
		case json.Unmarshal(in.ToolChoice, &named) == nil && named.Type == "function" && named.Name != "":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNamed, Name: named.Name}
		}
	}
	if rs := in.Reasoning; rs != nil && rs.Effort != "" {
		if rs.Effort == "none" {
			r.Reasoning = &canon.Reasoning{Disabled: true}
		} else {
			r.Reasoning = &canon.Reasoning{Effort: rs.Effort}
		}
	}
	if in.Text != nil && in.Text.Format != nil {
		switch f := in.Text.Format; f.Type {
		case "json_object":
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONObject}
		case "json_schema":
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Name: f.Name, Schema: f.Schema, Strict: f.Strict}
		}
	}
	return r, nil
}

func textBlocks(blocks []canon.Block) []canon.Block {
	var out []canon.Block
	for _, b := range blocks {
		if b.Type == canon.BlockText && b.Text != "" {
			out = append(out, b)
		}
	}
	return out
}

// decodeResponsesInput reads input: a string (one user message) or a list
// of items. Consecutive items of one role become one canonical message:
// an assistant turn is its reasoning, message and function_call items.
func decodeResponsesInput(r *canon.Request, raw json.RawMessage, fast bool) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid("invalid input")
		}
		r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Content: []canon.Block{{Type: canon.BlockText, Text: s}}})
		return nil
	}
	items, ok := []responsesItemJSON(nil), false
	if fast {
		items, ok = readResponsesItems(raw)
	}
	if !ok {
		items = nil
		if err := json.Unmarshal(raw, &items); err != nil {
			return invalid("invalid input: " + err.Error())
		}
	}
	add := func(role canon.Role, blocks ...canon.Block) {
		if len(blocks) == 0 {
			return
		}
		if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
			r.Messages[n-1].Content = append(r.Messages[n-1].Content, blocks...)
			return
		}
		r.Messages = append(r.Messages, canon.Message{Role: role, Content: blocks})
	}
	for _, it := range items {
		switch it.Type {
		case "message", "":
			content, err := decodeResponsesContent(it.Content, fast)
			if err != nil {
				return err
			}
			switch it.Role {
			case "system", "developer":
				r.System = append(r.System, textBlocks(content)...)
			case "user":
				add(canon.RoleUser, content...)
			case "assistant":
				add(canon.RoleAssistant, content...)
			default:
				return invalid("input: unknown role " + strconv.Quote(it.Role))
			}
		case "function_call":
			add(canon.RoleAssistant, canon.Block{Type: canon.BlockToolCall, ID: it.CallID, Name: it.Name, Arguments: rawArguments(it.Arguments)})
		case "custom_tool_call":
			args, _ := json.Marshal(customInput{it.Input})
			add(canon.RoleAssistant, canon.Block{Type: canon.BlockToolCall, ID: it.CallID, Name: it.Name, Arguments: args})
		case "function_call_output", "custom_tool_call_output":
			content, err := decodeResponsesContent(it.Output, fast)
			if err != nil {
				return err
			}
			add(canon.RoleUser, canon.Block{Type: canon.BlockToolResult, ID: it.CallID, Content: content})
		case "reasoning":
			if b, ok := reasoningBlock(it, fast); ok {
				add(canon.RoleAssistant, b)
			}
		}
	}
	return nil
}

// customInputNote starts the description of the one string member a
// custom tool (free text, such as Codex's apply_patch) has as a function
// tool; the stream encoder recognises custom tools by it.
const customInputNote = "The tool's whole input as raw text (a custom tool: the text itself is not JSON)."

// customInput is a custom tool call's arguments as a function call's.
type customInput struct {
	Input string `json:"input"`
}

func customToolSchema(note string) json.RawMessage {
	type prop struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	b, _ := json.Marshal(struct {
		Type                 string          `json:"type"`
		Properties           map[string]prop `json:"properties"`
		Required             []string        `json:"required"`
		AdditionalProperties bool            `json:"additionalProperties"`
	}{"object", map[string]prop{"input": {"string", note}}, []string{"input"}, false})
	return b
}

// customTools names the request's tools that were custom tools.
func customTools(r *canon.Request) map[string]bool {
	if r == nil {
		return nil
	}
	var out map[string]bool
	for _, t := range r.Tools {
		if !bytes.Contains(t.Parameters, []byte("a custom tool: the text itself is not JSON")) {
			continue
		}
		var schema struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		}
		if json.Unmarshal(t.Parameters, &schema) == nil && len(schema.Properties) == 1 &&
			strings.HasPrefix(schema.Properties["input"].Description, customInputNote) {
			if out == nil {
				out = map[string]bool{}
			}
			out[t.Name] = true
		}
	}
	return out
}

// reasoningBlock reads a reasoning item: its summary (or, from open-weight
// models, its reasoning_text content) is the thinking text, and its
// encrypted content the signature (see SignaturePrefix).
func reasoningBlock(it responsesItemJSON, fast bool) (canon.Block, bool) {
	if data, ok := strings.CutPrefix(it.EncryptedContent, RedactedPrefix); ok {
		return canon.Block{Type: canon.BlockRedactedThinking, Data: data}, data != ""
	}
	b := canon.Block{Type: canon.BlockThinking, Signature: reasoningSignature(it.ID, it.EncryptedContent)}
	var parts []string
	for _, s := range it.Summary {
		parts = append(parts, s.Text)
	}
	if len(parts) == 0 {
		content, _ := decodeResponsesContent(it.Content, fast)
		for _, c := range content {
			parts = append(parts, c.Text)
		}
	}
	b.Text = strings.Join(parts, "\n\n")
	return b, b.Text != "" || b.Signature != ""
}

// reasoningSignature is the canonical signature of a reasoning item's
// encrypted content.
func reasoningSignature(id, encrypted string) string {
	if sig, ok := strings.CutPrefix(encrypted, SignaturePrefix); ok {
		return sig
	}
	if encrypted == "" || id == "" {
		return "" // OpenAI takes encrypted content back only with its item's ID
	}
	return OpenAIReasoningPrefix + id + ":" + encrypted
}

// rawArguments keeps function_call arguments as JSON: a string holding
// JSON, as the API sends them, or a JSON object.
func rawArguments(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' && json.Valid(raw) {
		return raw
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return argumentsJSON(s)
}

// decodeResponsesContent reads message content, instructions or a tool
// output: a string, a list of parts or null.
func decodeResponsesContent(raw json.RawMessage, fast bool) ([]canon.Block, error) {
	if fast {
		if out, ok := readResponsesContent(raw); ok {
			return out, nil
		}
	}
	return decodeContent(raw, responsesPartBlock)
}

// responsesPartBlock is the canonical block of a content part, or false.
func responsesPartBlock(p responsesPartJSON) (canon.Block, bool) {
	switch p.Type {
	case "input_text", "output_text", "text", "reasoning_text", "summary_text":
		return canon.Block{Type: canon.BlockText, Text: p.Text}, true
	case "refusal":
		return canon.Block{Type: canon.BlockText, Text: p.Refusal}, true
	case "input_image":
		var url string
		if json.Unmarshal(p.ImageURL, &url) != nil {
			var obj struct {
				URL string `json:"url"`
			}
			_ = json.Unmarshal(p.ImageURL, &obj)
			url = obj.URL
		}
		if url != "" {
			return imageBlock(url), true
		}
	}
	return canon.Block{}, false
}

// Encoded shapes; field order follows the API reference.
type (
	responsesPartOut struct {
		Type     string `json:"type"`
		Text     string `json:"text,omitempty"`
		ImageURL string `json:"image_url,omitempty"`
		Detail   string `json:"detail,omitempty"`
	}
	responsesInputItem struct {
		Type      string `json:"type"`
		ID        string `json:"id,omitempty"`
		Role      string `json:"role,omitempty"`
		Content   any    `json:"content,omitempty"`
		CallID    string `json:"call_id,omitempty"`
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments,omitempty"`
		Output    any    `json:"output,omitempty"`
		// A reasoning item's.
		Summary          *[]summaryOut `json:"summary,omitempty"`
		EncryptedContent string        `json:"encrypted_content,omitempty"`
	}
	responsesToolOut struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	}
	responsesFormatOut struct {
		Type   string          `json:"type"`
		Name   string          `json:"name,omitempty"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict *bool           `json:"strict,omitempty"`
	}
	responsesRequestOut struct {
		Model             string               `json:"model"`
		Instructions      string               `json:"instructions,omitempty"`
		Input             []responsesInputItem `json:"input"`
		Tools             []responsesToolOut   `json:"tools,omitempty"`
		ToolChoice        any                  `json:"tool_choice,omitempty"`
		ParallelToolCalls *bool                `json:"parallel_tool_calls,omitempty"`
		Reasoning         *struct {
			Effort  string `json:"effort"`
			Summary string `json:"summary"`
		} `json:"reasoning,omitempty"`
		Text *struct {
			Format responsesFormatOut `json:"format"`
		} `json:"text,omitempty"`
		MaxOutputTokens int64    `json:"max_output_tokens,omitempty"`
		Temperature     *float64 `json:"temperature,omitempty"`
		TopP            *float64 `json:"top_p,omitempty"`
		Stream          bool     `json:"stream,omitempty"`
		Store           bool     `json:"store"`
		Include         []string `json:"include,omitempty"`
		User            string   `json:"user,omitempty"`
	}
)

// EncodeRequest writes a Responses request body. It asks OpenAI not to
// store the response (store false): the client speaks another API and
// never refers to it, so reasoning is asked for with its encrypted
// content, and a thinking block goes back as a reasoning item only when
// it came from OpenAI (OpenAIReasoningPrefix): OpenAI accepts no other.
// Stop sequences have no place.
func (ResponsesCodec) EncodeRequest(r *canon.Request) ([]byte, error) {
	out := responsesRequestOut{Model: r.Model, Instructions: joinText(r.System), MaxOutputTokens: max(r.MaxTokens, 0),
		Temperature: r.Temperature, TopP: r.TopP, Stream: r.Stream, User: r.User}
	out.Input = make([]responsesInputItem, 0, len(r.Messages))
	for _, m := range r.Messages {
		if m.Role == canon.RoleAssistant {
			var text strings.Builder
			flush := func() {
				if text.Len() > 0 {
					out.Input = append(out.Input, responsesInputItem{Type: "message", Role: "assistant",
						Content: []responsesPartOut{{Type: "output_text", Text: text.String()}}})
					text.Reset()
				}
			}
			for _, b := range m.Content {
				switch b.Type {
				case canon.BlockText:
					text.WriteString(b.Text)
				case canon.BlockToolCall:
					flush()
					out.Input = append(out.Input, responsesInputItem{Type: "function_call", CallID: b.ID, Name: b.Name, Arguments: argumentsText(b.Arguments)})
				case canon.BlockThinking:
					rest, ok := strings.CutPrefix(b.Signature, OpenAIReasoningPrefix)
					id, encrypted, _ := strings.Cut(rest, ":")
					if !ok || id == "" || encrypted == "" {
						continue
					}
					flush()
					summary := []summaryOut{}
					if b.Text != "" {
						summary = append(summary, summaryOut{"summary_text", b.Text})
					}
					out.Input = append(out.Input, responsesInputItem{Type: "reasoning", ID: id, Summary: &summary, EncryptedContent: encrypted})
				}
			}
			flush()
			continue
		}
		var rest []canon.Block
		for _, b := range m.Content {
			if b.Type == canon.BlockToolResult {
				out.Input = append(out.Input, responsesInputItem{Type: "function_call_output", CallID: b.ID, Output: toolOutput(b.Content)})
			} else {
				rest = append(rest, b)
			}
		}
		if parts := inputParts(rest); len(parts) > 0 {
			out.Input = append(out.Input, responsesInputItem{Type: "message", Role: "user", Content: parts})
		}
	}
	if len(r.Tools) > 0 {
		out.Tools = make([]responsesToolOut, len(r.Tools))
		for i, t := range r.Tools {
			out.Tools[i] = responsesToolOut{Type: "function", Name: t.Name, Description: t.Description, Parameters: t.Parameters}
			if !json.Valid(t.Parameters) {
				out.Tools[i].Parameters = nil
			}
		}
		out.ParallelToolCalls = r.ParallelToolCalls
	}
	if tc := r.ToolChoice; tc != nil && len(r.Tools) > 0 { // refused without tools
		switch tc.Mode {
		case canon.ToolNamed:
			out.ToolChoice = struct {
				Type string `json:"type"`
				Name string `json:"name"`
			}{"function", tc.Name}
		case canon.ToolAuto, canon.ToolNone, canon.ToolRequired:
			out.ToolChoice = string(tc.Mode)
		}
	}
	if rs := r.Reasoning; rs != nil && !rs.Disabled && (rs.Effort != "" || rs.BudgetTokens > 0) {
		effort := rs.Effort
		if effort == "" {
			effort = effortFor(rs.BudgetTokens)
		}
		out.Reasoning = &struct {
			Effort  string `json:"effort"`
			Summary string `json:"summary"`
		}{effort, "auto"}
		out.Include = []string{"reasoning.encrypted_content"}
	}
	if f := r.ResponseFormat; f != nil && f.Type != canon.FormatText {
		format := responsesFormatOut{Type: string(f.Type)}
		if f.Type == canon.FormatJSONSchema {
			format.Name, format.Schema, format.Strict = cmpOr(f.Name, "response"), f.Schema, f.Strict
			if !json.Valid(f.Schema) {
				format.Schema = nil
			}
		}
		out.Text = &struct {
			Format responsesFormatOut `json:"format"`
		}{format}
	}
	return json.Marshal(out)
}

func inputParts(blocks []canon.Block) []responsesPartOut {
	var parts []responsesPartOut
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockText:
			if b.Text != "" {
				parts = append(parts, responsesPartOut{Type: "input_text", Text: b.Text})
			}
		case canon.BlockImage:
			parts = append(parts, responsesPartOut{Type: "input_image", ImageURL: imageURL(b), Detail: "auto"})
		}
	}
	return parts
}

// toolOutput is a string for text, a list of parts when there are images.
func toolOutput(blocks []canon.Block) any {
	for _, b := range blocks {
		if b.Type == canon.BlockImage {
			return inputParts(blocks)
		}
	}
	return joinText(blocks)
}

type responsesResponseJSON struct {
	ID                string                   `json:"id"`
	Object            string                   `json:"object"`
	Model             string                   `json:"model"`
	Status            string                   `json:"status"`
	IncompleteDetails *struct{ Reason string } `json:"incomplete_details"`
	Output            []responsesItemJSON      `json:"output"`
	Usage             *usageJSON               `json:"usage"`
}

// DecodeResponse reads a response object. Output items without a
// canonical equivalent (built-in tool calls) are dropped.
func (ResponsesCodec) DecodeResponse(body []byte) (*canon.Response, error) {
	var in responsesResponseJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.Object != "response" {
		return nil, errors.New("openai: not a response object")
	}
	r := &canon.Response{ID: in.ID, Model: in.Model}
	calls := false
	for _, it := range in.Output {
		switch it.Type {
		case "message":
			content, err := decodeResponsesContent(it.Content, true)
			if err != nil {
				return nil, err
			}
			r.Content = append(r.Content, content...)
		case "function_call":
			calls = true
			r.Content = append(r.Content, canon.Block{Type: canon.BlockToolCall, ID: it.CallID, Name: it.Name, Arguments: rawArguments(it.Arguments)})
		case "reasoning":
			if b, ok := reasoningBlock(it, true); ok {
				r.Content = append(r.Content, b)
			}
		}
	}
	reason := ""
	if in.IncompleteDetails != nil {
		reason = in.IncompleteDetails.Reason
	}
	r.StopReason = stopFromResponses(in.Status, reason, calls)
	if in.Usage != nil {
		r.Usage = in.Usage.normalise()
	}
	return r, nil
}

// stopFromResponses: a response has a status, not a stop reason
// (docs/translation.md, "Stop reasons").
func stopFromResponses(status, reason string, calls bool) canon.StopReason {
	switch {
	case status == "incomplete" && reason == "content_filter":
		return canon.StopContentFilter
	case status == "incomplete":
		return canon.StopMaxTokens
	case calls:
		return canon.StopToolUse
	}
	return canon.StopEndTurn
}

// responsesStatus is a stop reason's status and incomplete_details.reason.
func responsesStatus(s canon.StopReason) (string, string) {
	switch s {
	case canon.StopMaxTokens:
		return "incomplete", "max_output_tokens"
	case canon.StopContentFilter:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// responsesUsageOut is usage as Responses writes it: input_tokens includes
// cached tokens and cache writes, output_tokens includes reasoning
// (docs/wire-formats.md, "Usage semantics per provider").
type responsesUsageOut struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

func encodeResponsesUsage(u llm.Usage) *responsesUsageOut {
	o := &responsesUsageOut{InputTokens: u.PromptTokens(), OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens()}
	o.InputTokensDetails.CachedTokens = u.CacheReadTokens
	o.OutputTokensDetails.ReasoningTokens = u.ReasoningTokens
	return o
}

// Output item shapes, as the API writes them.
type (
	outputTextOut struct {
		Type        string `json:"type"`
		Annotations []any  `json:"annotations"`
		Logprobs    []any  `json:"logprobs"`
		Text        string `json:"text"`
	}
	summaryOut struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	// outputItemOut is a message, function_call or reasoning item.
	outputItemOut struct {
		ID               string           `json:"id"`
		Type             string           `json:"type"`
		Status           string           `json:"status,omitempty"`
		Role             string           `json:"role,omitempty"`
		Content          *[]outputTextOut `json:"content,omitempty"` // set on a message, even empty
		CallID           string           `json:"call_id,omitempty"`
		Name             string           `json:"name,omitempty"`
		Arguments        *string          `json:"arguments,omitempty"`
		Input            *string          `json:"input,omitempty"`   // a custom tool call's
		Summary          *[]summaryOut    `json:"summary,omitempty"` // set on a reasoning item, even empty
		EncryptedContent string           `json:"encrypted_content,omitempty"`
	}
	responseOut struct {
		ID                string `json:"id"`
		Object            string `json:"object"`
		CreatedAt         int64  `json:"created_at"`
		Status            string `json:"status"`
		Error             any    `json:"error"`
		IncompleteDetails *struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
		Instructions      *string            `json:"instructions"`
		Model             string             `json:"model"`
		Output            []outputItemOut    `json:"output"`
		ParallelToolCalls bool               `json:"parallel_tool_calls"`
		ToolChoice        string             `json:"tool_choice"`
		Tools             []any              `json:"tools"`
		Usage             *responsesUsageOut `json:"usage"`
	}
)

// itemIDs names a response's items after its ID, so one answer's item IDs
// are stable (and unique within it).
type itemIDs struct {
	suffix string
	n      int
}

func newItemIDs(responseID string) itemIDs {
	_, s, ok := strings.Cut(responseID, "_")
	if !ok || s == "" {
		s = cmpOr(responseID, "aether")
	}
	return itemIDs{suffix: s}
}

func (g *itemIDs) next(prefix string) string {
	id := prefix + "_" + g.suffix + "_" + strconv.Itoa(g.n)
	g.n++
	return id
}

func responseID(id string) string {
	if strings.HasPrefix(id, "resp_") {
		return id
	}
	return "resp_" + newItemIDs(id).suffix
}

// thinkingItem is a thinking or redacted thinking block as a reasoning
// item in an answer; the signature or redacted data rides in
// encrypted_content behind its prefix.
func thinkingItem(id string, b canon.Block) outputItemOut {
	it := outputItemOut{ID: id, Type: "reasoning", Summary: &[]summaryOut{}}
	switch {
	case b.Type == canon.BlockRedactedThinking:
		it.EncryptedContent = RedactedPrefix + b.Data
	default:
		if b.Text != "" {
			it.Summary = &[]summaryOut{{"summary_text", b.Text}}
		}
		if b.Signature != "" {
			it.EncryptedContent = SignaturePrefix + b.Signature
		}
	}
	return it
}

func newOutputText(text string) outputTextOut {
	return outputTextOut{Type: "output_text", Annotations: []any{}, Logprobs: []any{}, Text: text}
}

// EncodeResponse writes a response object: text blocks become one
// assistant message item each, tool calls function_call items, thinking
// reasoning items, in the canonical order.
func (ResponsesCodec) EncodeResponse(r *canon.Response) ([]byte, error) {
	ids := newItemIDs(r.ID)
	items := make([]outputItemOut, 0, len(r.Content))
	for _, b := range r.Content {
		var it outputItemOut
		switch b.Type {
		case canon.BlockText:
			it = outputItemOut{ID: ids.next("msg"), Type: "message", Status: "completed", Role: "assistant", Content: &[]outputTextOut{newOutputText(b.Text)}}
		case canon.BlockToolCall:
			args := argumentsText(b.Arguments)
			it = outputItemOut{ID: ids.next("fc"), Type: "function_call", Status: "completed", CallID: b.ID, Name: b.Name, Arguments: &args}
		case canon.BlockThinking, canon.BlockRedactedThinking:
			it = thinkingItem(ids.next("rs"), b)
		default:
			continue
		}
		items = append(items, it)
	}
	status, reason := responsesStatus(r.StopReason)
	return json.Marshal(newResponseOut(r.ID, r.Model, status, reason, items, encodeResponsesUsage(r.Usage)))
}

func newResponseOut(id, model, status, reason string, output []outputItemOut, usage *responsesUsageOut) responseOut {
	o := responseOut{ID: responseID(id), Object: "response", CreatedAt: time.Now().Unix(), Status: status, Model: model,
		Output: output, ParallelToolCalls: true, ToolChoice: "auto", Tools: []any{}, Usage: usage}
	if o.Output == nil {
		o.Output = []outputItemOut{}
	}
	if reason != "" {
		o.IncompleteDetails = &struct {
			Reason string `json:"reason"`
		}{reason}
	}
	return o
}

// DecodeError reads an error body, the same shape as Chat's; with status
// 0, a stream's error event, whose code and message sit at the top level
// (or in a nested error object, as the live API sends them).
func (ResponsesCodec) DecodeError(status int, body []byte) *canon.Error {
	if status != 0 {
		return ChatCodec{}.DecodeError(status, body)
	}
	var ev struct {
		Code    *string         `json:"code"`
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &ev) == nil && len(ev.Error) == 0 && ev.Message != "" {
		code := ""
		if ev.Code != nil {
			code = *ev.Code
		}
		return &canon.Error{Type: errorTypeFromChat(code, code), Message: ev.Message, Code: code}
	}
	return ChatCodec{}.DecodeError(0, body)
}

// EncodeError writes an error body, the same shape as Chat's.
func (ResponsesCodec) EncodeError(e *canon.Error) []byte { return ChatCodec{}.EncodeError(e) }
