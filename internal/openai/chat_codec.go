package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"aether/internal/canon"
	"aether/internal/canon/jsontext"
	"aether/internal/llm"
)

// ChatCodec translates the Chat Completions API, as OpenAI and
// OpenAI-compatible servers (DeepSeek, vLLM: reasoning_content) speak it,
// to and from the canonical model (internal/canon, issue 12). Mapping and
// dropped fields: docs/translation.md.
type ChatCodec struct{}

type chatToolCallJSON struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatMessageJSON struct {
	Role             string             `json:"role"`
	Content          json.RawMessage    `json:"content"`
	ReasoningContent string             `json:"reasoning_content"`
	Reasoning        string             `json:"reasoning"` // some compatible servers' name
	Refusal          string             `json:"refusal"`
	ToolCalls        []chatToolCallJSON `json:"tool_calls"`
	ToolCallID       string             `json:"tool_call_id"`
}

type chatRequestJSON struct {
	Model    string            `json:"model"`
	Messages []chatMessageJSON `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	MaxTokens           int64           `json:"max_tokens"`
	MaxCompletionTokens int64           `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
	ReasoningEffort string `json:"reasoning_effort"`
	User            string `json:"user"`
}

type chatPartJSON struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

func invalid(msg string) error {
	return &canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: msg}
}

// DecodeRequest reads a Chat Completions request body.
func (ChatCodec) DecodeRequest(body []byte) (*canon.Request, error) {
	var in chatRequestJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalid("invalid request body: " + err.Error())
	}
	r := &canon.Request{
		Model: in.Model, MaxTokens: cmpOr(in.MaxCompletionTokens, in.MaxTokens), Temperature: in.Temperature,
		TopP: in.TopP, Stream: in.Stream, User: in.User,
		ParallelToolCalls: in.ParallelToolCalls,
	}
	r.StreamUsage = in.StreamOptions != nil && in.StreamOptions.IncludeUsage
	for _, m := range in.Messages {
		content, err := decodeChatContent(m.Content)
		if err != nil {
			return nil, err
		}
		switch m.Role {
		case "system", "developer":
			for _, b := range content {
				if b.Type == canon.BlockText {
					r.System = append(r.System, b)
				}
			}
		case "user":
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Content: content})
		case "assistant":
			var blocks []canon.Block
			if t := cmpOr(m.ReasoningContent, m.Reasoning); t != "" {
				blocks = append(blocks, canon.Block{Type: canon.BlockThinking, Text: t})
			}
			blocks = append(blocks, content...)
			if m.Refusal != "" {
				blocks = append(blocks, canon.Block{Type: canon.BlockText, Text: m.Refusal})
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, canon.Block{Type: canon.BlockToolCall, ID: tc.ID, Name: tc.Function.Name, Arguments: argumentsJSON(tc.Function.Arguments)})
			}
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleAssistant, Content: blocks})
		case "tool":
			result := canon.Block{Type: canon.BlockToolResult, ID: m.ToolCallID, Content: content}
			// Parallel results: consecutive tool messages answer one turn.
			if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == canon.RoleUser && isToolResults(r.Messages[n-1].Content) {
				r.Messages[n-1].Content = append(r.Messages[n-1].Content, result)
			} else {
				r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Content: []canon.Block{result}})
			}
		default:
			continue // "function" (deprecated) has no equivalent
		}
	}
	for _, t := range in.Tools {
		if t.Type != "function" {
			continue
		}
		r.Tools = append(r.Tools, canon.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	if len(in.ToolChoice) > 0 {
		var mode string
		var named struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		switch {
		case json.Unmarshal(in.ToolChoice, &mode) == nil:
			r.ToolChoice = toolChoiceMode(mode)
		case json.Unmarshal(in.ToolChoice, &named) == nil && named.Function.Name != "":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNamed, Name: named.Function.Name}
		}
	}
	if len(in.Stop) > 0 {
		var one string
		if json.Unmarshal(in.Stop, &one) == nil {
			if one != "" {
				r.Stop = []string{one}
			}
		} else if err := json.Unmarshal(in.Stop, &r.Stop); err != nil {
			return nil, invalid("invalid stop")
		}
	}
	if f := in.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONObject}
		case "json_schema":
			if f.JSONSchema != nil {
				r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Name: f.JSONSchema.Name, Schema: f.JSONSchema.Schema, Strict: f.JSONSchema.Strict}
			}
		}
	}
	if in.ReasoningEffort != "" {
		if in.ReasoningEffort == "none" {
			r.Reasoning = &canon.Reasoning{Disabled: true}
		} else {
			r.Reasoning = &canon.Reasoning{Effort: in.ReasoningEffort}
		}
	}
	return r, nil
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

func isToolResults(blocks []canon.Block) bool {
	for _, b := range blocks {
		if b.Type != canon.BlockToolResult {
			return false
		}
	}
	return len(blocks) > 0
}

// argumentsJSON keeps a tool call's arguments as JSON: Chat sends them as
// a string holding JSON; text that is not JSON becomes a JSON string.
func argumentsJSON(s string) json.RawMessage {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage("{}")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// toolChoiceMode reads Chat's and Responses' string tool_choice; nil for
// a mode it does not know.
func toolChoiceMode(mode string) *canon.ToolChoice {
	switch mode {
	case "auto":
		return &canon.ToolChoice{Mode: canon.ToolAuto}
	case "none":
		return &canon.ToolChoice{Mode: canon.ToolNone}
	case "required":
		return &canon.ToolChoice{Mode: canon.ToolRequired}
	}
	return nil
}

// decodeChatContent reads content: a string, an array of parts or null.
func decodeChatContent(raw json.RawMessage) ([]canon.Block, error) {
	return decodeContent(raw, func(p chatPartJSON) (canon.Block, bool) {
		switch p.Type {
		case "text":
			return canon.Block{Type: canon.BlockText, Text: p.Text}, true
		case "refusal":
			return canon.Block{Type: canon.BlockText, Text: p.Refusal}, true
		case "image_url":
			if p.ImageURL != nil {
				return imageBlock(p.ImageURL.URL), true
			}
		}
		return canon.Block{}, false
	})
}

// decodeContent reads Chat's and Responses' content: a string, an array of
// parts P or null. block turns a part into its block, false to drop it.
func decodeContent[P any](raw json.RawMessage, block func(P) (canon.Block, bool)) ([]canon.Block, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("invalid content")
		}
		if s == "" {
			return nil, nil
		}
		return []canon.Block{{Type: canon.BlockText, Text: s}}, nil
	}
	var parts []P
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, invalid("invalid content")
	}
	var out []canon.Block
	for _, p := range parts {
		if b, ok := block(p); ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// imageBlock reads an image URL; a data: URL is a base64 image.
func imageBlock(url string) canon.Block {
	if rest, ok := strings.CutPrefix(url, "data:"); ok {
		if meta, data, ok := strings.Cut(rest, ","); ok {
			if mediaType, ok := strings.CutSuffix(meta, ";base64"); ok {
				return canon.Block{Type: canon.BlockImage, MediaType: mediaType, Data: data}
			}
		}
	}
	return canon.Block{Type: canon.BlockImage, URL: url}
}

func imageURL(b canon.Block) string {
	if b.URL != "" {
		return b.URL
	}
	return "data:" + b.MediaType + ";base64," + b.Data
}

// Reasoning efforts for a thinking budget (docs/translation.md, "Reasoning").
func effortFor(budget int64) string {
	switch {
	case budget < 4096:
		return "low"
	case budget < 16384:
		return "medium"
	}
	return "high"
}

type (
	chatPartOut struct {
		Type     string       `json:"type"`
		Text     string       `json:"text,omitempty"`
		ImageURL *chatURLJSON `json:"image_url,omitempty"`
	}
	chatURLJSON struct {
		URL string `json:"url"`
	}
	chatToolCallOut struct {
		Index    *int             `json:"index,omitempty"`
		ID       string           `json:"id,omitempty"`
		Type     string           `json:"type,omitempty"`
		Function chatFunctionCall `json:"function"`
	}
	chatFunctionCall struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	chatMessageOut struct {
		Role             string            `json:"role"`
		Content          any               `json:"content"`
		ReasoningContent string            `json:"reasoning_content,omitempty"`
		ToolCalls        []chatToolCallOut `json:"tool_calls,omitempty"`
		ToolCallID       string            `json:"tool_call_id,omitempty"`
	}
)

// chatRequestOut is the request Chat receives; field order follows the
// API reference.
type chatRequestOut struct {
	Model               string           `json:"model"`
	Messages            []chatMessageOut `json:"messages"`
	Tools               []chatToolOut    `json:"tools,omitempty"`
	ToolChoice          any              `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool            `json:"parallel_tool_calls,omitempty"`
	MaxCompletionTokens int64            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64         `json:"temperature,omitempty"`
	TopP                *float64         `json:"top_p,omitempty"`
	Stop                []string         `json:"stop,omitempty"`
	Stream              bool             `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options,omitempty"`
	ResponseFormat  *chatResponseFormatOut `json:"response_format,omitempty"`
	ReasoningEffort string                 `json:"reasoning_effort,omitempty"`
	User            string                 `json:"user,omitempty"`
}

type chatToolOut struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	} `json:"function"`
}

type chatResponseFormatOut struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict *bool           `json:"strict,omitempty"`
	} `json:"json_schema,omitempty"`
}

type chatNamedChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// EncodeRequest writes a Chat Completions request body. A stream always
// asks for usage (stream_options.include_usage): the client's format may
// need it even when a Chat client would not.
func (ChatCodec) EncodeRequest(r *canon.Request) ([]byte, error) {
	out := chatRequestOut{Model: r.Model, MaxCompletionTokens: max(r.MaxTokens, 0), Temperature: r.Temperature, TopP: r.TopP,
		Stop: r.Stop, Stream: r.Stream, User: r.User}
	msgs := make([]chatMessageOut, 0, len(r.Messages)+1)
	if s := joinText(r.System); s != "" {
		msgs = append(msgs, chatMessageOut{Role: "system", Content: s})
	}
	for _, m := range r.Messages {
		if m.Role == canon.RoleAssistant {
			msgs = append(msgs, assistantMessage(m.Content))
			continue
		}
		// Tool results first: Chat wants tool messages right after the
		// assistant's tool_calls.
		var rest []canon.Block
		for _, b := range m.Content {
			if b.Type == canon.BlockToolResult {
				msgs = append(msgs, chatMessageOut{Role: "tool", ToolCallID: b.ID, Content: joinText(b.Content)})
			} else {
				rest = append(rest, b)
			}
		}
		if c := userContent(rest); c != nil {
			msgs = append(msgs, chatMessageOut{Role: "user", Content: c})
		}
	}
	out.Messages = msgs
	if len(r.Tools) > 0 {
		out.Tools = make([]chatToolOut, len(r.Tools))
		for i, t := range r.Tools {
			out.Tools[i].Type = "function"
			out.Tools[i].Function.Name, out.Tools[i].Function.Description, out.Tools[i].Function.Parameters = t.Name, t.Description, t.Parameters
		}
		out.ParallelToolCalls = r.ParallelToolCalls
	}
	if tc := r.ToolChoice; tc != nil && len(r.Tools) > 0 { // the API rejects tool_choice alone
		switch tc.Mode {
		case canon.ToolNamed:
			named := chatNamedChoice{Type: "function"}
			named.Function.Name = tc.Name
			out.ToolChoice = named
		case canon.ToolAuto, canon.ToolNone, canon.ToolRequired:
			out.ToolChoice = string(tc.Mode)
		}
	}
	if r.Stream {
		out.StreamOptions = &struct {
			IncludeUsage bool `json:"include_usage"`
		}{true}
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case canon.FormatJSONObject:
			out.ResponseFormat = &chatResponseFormatOut{Type: "json_object"}
		case canon.FormatJSONSchema:
			rf := &chatResponseFormatOut{Type: "json_schema", JSONSchema: &struct {
				Name   string          `json:"name"`
				Schema json.RawMessage `json:"schema,omitempty"`
				Strict *bool           `json:"strict,omitempty"`
			}{cmpOr(f.Name, "response"), f.Schema, f.Strict}}
			if !json.Valid(f.Schema) {
				rf.JSONSchema.Schema = nil
			}
			out.ResponseFormat = rf
		}
	}
	if rs := r.Reasoning; rs != nil && !rs.Disabled {
		if rs.Effort != "" {
			out.ReasoningEffort = rs.Effort
		} else if rs.BudgetTokens > 0 {
			out.ReasoningEffort = effortFor(rs.BudgetTokens)
		}
	}
	return out.appendJSON(make([]byte, 0, requestSize(r)))
}

// requestSize guesses the encoded size of a request, to allocate the
// output once.
func requestSize(r *canon.Request) int {
	n := 512
	for _, b := range r.System {
		n += len(b.Text)
	}
	for _, m := range r.Messages {
		n += blocksSize(m.Content)
	}
	for _, t := range r.Tools {
		n += 64 + len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	return n + n/8 // escapes
}

func blocksSize(blocks []canon.Block) int {
	n := 32
	for _, b := range blocks {
		n += 48 + len(b.Text) + len(b.Data) + len(b.URL) + len(b.MediaType) + len(b.ID) + len(b.Name) + len(b.Arguments) + blocksSize(b.Content)
	}
	return n
}

// appendJSON writes the request as json.Marshal would, byte for byte
// (the golden files pin it), without reflection (issue 12's CPU budget).
func (o *chatRequestOut) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"model":`...)
	b = jsontext.AppendString(b, o.Model)
	b = append(b, `,"messages":`...)
	if o.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = o.Messages[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if len(o.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range o.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsontext.AppendString(b, t.Type)
			b = append(b, `,"function":{"name":`...)
			b = jsontext.AppendString(b, t.Function.Name)
			if t.Function.Description != "" {
				b = append(b, `,"description":`...)
				b = jsontext.AppendString(b, t.Function.Description)
			}
			if len(t.Function.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				if b, err = jsontext.AppendRaw(b, t.Function.Parameters); err != nil {
					return nil, err
				}
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	switch tc := o.ToolChoice.(type) {
	case nil:
	case string:
		b = append(b, `,"tool_choice":`...)
		b = jsontext.AppendString(b, tc)
	case chatNamedChoice:
		b = append(b, `,"tool_choice":{"type":`...)
		b = jsontext.AppendString(b, tc.Type)
		b = append(b, `,"function":{"name":`...)
		b = jsontext.AppendString(b, tc.Function.Name)
		b = append(b, "}}"...)
	default:
		return nil, errors.New("openai: unexpected tool_choice")
	}
	if o.ParallelToolCalls != nil {
		b = append(b, `,"parallel_tool_calls":`...)
		b = jsontext.AppendBool(b, *o.ParallelToolCalls)
	}
	if o.MaxCompletionTokens != 0 {
		b = append(b, `,"max_completion_tokens":`...)
		b = jsontext.AppendInt(b, o.MaxCompletionTokens)
	}
	if o.Temperature != nil {
		b = append(b, `,"temperature":`...)
		if b, err = jsontext.AppendFloat(b, *o.Temperature); err != nil {
			return nil, err
		}
	}
	if o.TopP != nil {
		b = append(b, `,"top_p":`...)
		if b, err = jsontext.AppendFloat(b, *o.TopP); err != nil {
			return nil, err
		}
	}
	if len(o.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range o.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if o.Stream {
		b = append(b, `,"stream":true`...)
	}
	if o.StreamOptions != nil {
		b = append(b, `,"stream_options":{"include_usage":`...)
		b = jsontext.AppendBool(b, o.StreamOptions.IncludeUsage)
		b = append(b, '}')
	}
	if f := o.ResponseFormat; f != nil {
		b = append(b, `,"response_format":{"type":`...)
		b = jsontext.AppendString(b, f.Type)
		if s := f.JSONSchema; s != nil {
			b = append(b, `,"json_schema":{"name":`...)
			b = jsontext.AppendString(b, s.Name)
			if len(s.Schema) > 0 {
				b = append(b, `,"schema":`...)
				if b, err = jsontext.AppendRaw(b, s.Schema); err != nil {
					return nil, err
				}
			}
			if s.Strict != nil {
				b = append(b, `,"strict":`...)
				b = jsontext.AppendBool(b, *s.Strict)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if o.ReasoningEffort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = jsontext.AppendString(b, o.ReasoningEffort)
	}
	if o.User != "" {
		b = append(b, `,"user":`...)
		b = jsontext.AppendString(b, o.User)
	}
	return append(b, '}'), nil
}

// appendJSON writes the message as json.Marshal would.
func (m *chatMessageOut) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"role":`...)
	b = jsontext.AppendString(b, m.Role)
	b = append(b, `,"content":`...)
	switch c := m.Content.(type) {
	case nil:
		b = append(b, "null"...)
	case string:
		b = jsontext.AppendString(b, c)
	case []chatPartOut:
		if c == nil {
			b = append(b, "null"...)
			break
		}
		b = append(b, '[')
		for i, p := range c {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsontext.AppendString(b, p.Type)
			if p.Text != "" {
				b = append(b, `,"text":`...)
				b = jsontext.AppendString(b, p.Text)
			}
			if p.ImageURL != nil {
				b = append(b, `,"image_url":{"url":`...)
				b = jsontext.AppendString(b, p.ImageURL.URL)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	default:
		return nil, errors.New("openai: unexpected message content")
	}
	if m.ReasoningContent != "" {
		b = append(b, `,"reasoning_content":`...)
		b = jsontext.AppendString(b, m.ReasoningContent)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			sep := false
			if tc.Index != nil {
				b = append(b, `"index":`...)
				b = jsontext.AppendInt(b, int64(*tc.Index))
				sep = true
			}
			if tc.ID != "" {
				if sep {
					b = append(b, ',')
				}
				b = append(b, `"id":`...)
				b = jsontext.AppendString(b, tc.ID)
				sep = true
			}
			if tc.Type != "" {
				if sep {
					b = append(b, ',')
				}
				b = append(b, `"type":`...)
				b = jsontext.AppendString(b, tc.Type)
				sep = true
			}
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"function":{`...)
			if tc.Function.Name != "" {
				b = append(b, `"name":`...)
				b = jsontext.AppendString(b, tc.Function.Name)
				b = append(b, ',')
			}
			b = append(b, `"arguments":`...)
			b = jsontext.AppendString(b, tc.Function.Arguments)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsontext.AppendString(b, m.ToolCallID)
	}
	return append(b, '}'), nil
}

func joinText(blocks []canon.Block) string {
	var parts []string
	for _, b := range blocks {
		if b.Type == canon.BlockText && b.Text != "" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n\n")
}

// userContent is a string for plain text, parts when there are images.
func userContent(blocks []canon.Block) any {
	var parts []chatPartOut
	images := false
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockText:
			parts = append(parts, chatPartOut{Type: "text", Text: b.Text})
		case canon.BlockImage:
			images = true
			parts = append(parts, chatPartOut{Type: "image_url", ImageURL: &chatURLJSON{imageURL(b)}})
		}
	}
	switch {
	case len(parts) == 0:
		return nil
	case !images:
		return joinText(blocks)
	}
	return parts
}

func assistantMessage(blocks []canon.Block) chatMessageOut {
	m := chatMessageOut{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockText:
			text.WriteString(b.Text)
		case canon.BlockThinking:
			reasoning.WriteString(b.Text)
		case canon.BlockToolCall:
			m.ToolCalls = append(m.ToolCalls, chatToolCallOut{ID: b.ID, Type: "function", Function: chatFunctionCall{Name: b.Name, Arguments: argumentsText(b.Arguments)}})
		}
	}
	if text.Len() > 0 || len(m.ToolCalls) == 0 {
		m.Content = text.String() // null only beside tool calls
	}
	m.ReasoningContent = reasoning.String()
	return m
}

func argumentsText(args json.RawMessage) string {
	if len(args) == 0 {
		return "{}"
	}
	return string(args)
}

var stopFromChat = map[string]canon.StopReason{
	"stop":           canon.StopEndTurn,
	"length":         canon.StopMaxTokens,
	"tool_calls":     canon.StopToolUse,
	"function_call":  canon.StopToolUse,
	"content_filter": canon.StopContentFilter,
}

func chatFinish(s canon.StopReason) string {
	switch s {
	case canon.StopMaxTokens:
		return "length"
	case canon.StopToolUse:
		return "tool_calls"
	case canon.StopContentFilter:
		return "content_filter"
	}
	return "stop"
}

type chatResponseJSON struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Model   string           `json:"model"`
	Choices []chatChoiceJSON `json:"choices"`
	Usage   *usageJSON       `json:"usage"`
}

type chatChoiceJSON struct {
	Index        int             `json:"index"`
	Message      chatMessageJSON `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

// readChatResponse decodes a chat.completion body in one scan
// (internal/canon/jsontext), filling what json.Unmarshal would fill, or
// gives false for a body it does not read exactly as json.Unmarshal does
// (a duplicate key, null other than in content, a type mismatch, a
// syntax error): the caller then uses json.Unmarshal.
func readChatResponse(body []byte, in *chatResponseJSON) bool {
	var r jsontext.Reader
	r.Reset(body)
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "id":
			if chatOnce(&r, &seen, 1<<0) {
				in.ID = r.String()
			}
		case "object":
			if chatOnce(&r, &seen, 1<<1) {
				in.Object = r.String()
			}
		case "model":
			if chatOnce(&r, &seen, 1<<2) {
				in.Model = r.String()
			}
		case "choices":
			if chatOnce(&r, &seen, 1<<3) {
				in.Choices = make([]chatChoiceJSON, 0, 1)
				for range r.Array() {
					var c chatChoiceJSON
					readChatChoice(&r, &c)
					in.Choices = append(in.Choices, c)
				}
			}
		case "usage":
			if chatOnce(&r, &seen, 1<<4) {
				in.Usage = &usageJSON{}
				readUsage(&r, in.Usage)
			}
		default:
			r.SkipUnknown(key)
		}
	}
	return r.End()
}

// chatOnce fails on a duplicate key or a null value (json.Unmarshal merges
// the one and skips the other).
func chatOnce(r *jsontext.Reader, seen *uint32, bit uint32) bool {
	if *seen&bit != 0 || r.IsNull() {
		r.Fail()
		return false
	}
	*seen |= bit
	return true
}

// chatString reads a string member into *dst, failing on a repeat or a
// null as chatOnce does.
func chatString(r *jsontext.Reader, seen *uint32, bit uint32, dst *string) {
	if chatOnce(r, seen, bit) {
		*dst = r.String()
	}
}

// readInt reads a number that must fit an int.
func readInt(r *jsontext.Reader) int {
	n := r.Int64()
	if int64(int(n)) != n {
		r.Fail()
	}
	return int(n)
}

func readChatChoice(r *jsontext.Reader, c *chatChoiceJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "index":
			if chatOnce(r, &seen, 1<<0) {
				c.Index = readInt(r)
			}
		case "message":
			if chatOnce(r, &seen, 1<<1) {
				readChatMessage(r, &c.Message)
			}
		case "finish_reason":
			chatString(r, &seen, 1<<2, &c.FinishReason)
		default:
			r.SkipUnknown(key)
		}
	}
}

func readChatMessage(r *jsontext.Reader, m *chatMessageJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "role":
			chatString(r, &seen, 1<<0, &m.Role)
		case "content":
			if seen&(1<<1) != 0 {
				r.Fail()
			}
			seen |= 1 << 1
			m.Content = r.Raw() // null included, as json.RawMessage keeps it
		case "reasoning_content":
			chatString(r, &seen, 1<<2, &m.ReasoningContent)
		case "reasoning":
			chatString(r, &seen, 1<<3, &m.Reasoning)
		case "refusal":
			chatString(r, &seen, 1<<4, &m.Refusal)
		case "tool_calls":
			if chatOnce(r, &seen, 1<<5) {
				m.ToolCalls = make([]chatToolCallJSON, 0, 2)
				for range r.Array() {
					var tc chatToolCallJSON
					readChatToolCall(r, &tc)
					m.ToolCalls = append(m.ToolCalls, tc)
				}
			}
		case "tool_call_id":
			chatString(r, &seen, 1<<6, &m.ToolCallID)
		default:
			r.SkipUnknown(key)
		}
	}
}

func readChatToolCall(r *jsontext.Reader, tc *chatToolCallJSON) {
	var seen uint32
	for key := range r.Object() {
		switch string(key) {
		case "index":
			if chatOnce(r, &seen, 1<<0) {
				i := readInt(r)
				tc.Index = &i
			}
		case "id":
			chatString(r, &seen, 1<<1, &tc.ID)
		case "type":
			chatString(r, &seen, 1<<2, &tc.Type)
		case "function":
			if chatOnce(r, &seen, 1<<3) {
				var fseen uint32
				for key := range r.Object() {
					switch string(key) {
					case "name":
						chatString(r, &fseen, 1<<0, &tc.Function.Name)
					case "arguments":
						chatString(r, &fseen, 1<<1, &tc.Function.Arguments)
					default:
						r.SkipUnknown(key)
					}
				}
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

// readUsage reads Chat's and Responses' usage members.
func readUsage(r *jsontext.Reader, u *usageJSON) {
	var seen uint32
	detail := func(bit uint32, name string) *int64 {
		if !chatOnce(r, &seen, bit) {
			return nil
		}
		var v int64
		var dseen uint32
		for key := range r.Object() {
			if string(key) == name {
				if chatOnce(r, &dseen, 1) {
					v = r.Int64()
				}
				continue
			}
			r.SkipUnknown(key)
		}
		return &v
	}
	for key := range r.Object() {
		switch string(key) {
		case "prompt_tokens":
			if chatOnce(r, &seen, 1<<0) {
				u.PromptTokens = r.Int64()
			}
		case "completion_tokens":
			if chatOnce(r, &seen, 1<<1) {
				u.CompletionTokens = r.Int64()
			}
		case "input_tokens":
			if chatOnce(r, &seen, 1<<2) {
				u.InputTokens = r.Int64()
			}
		case "output_tokens":
			if chatOnce(r, &seen, 1<<3) {
				u.OutputTokens = r.Int64()
			}
		case "prompt_tokens_details":
			if v := detail(1<<4, "cached_tokens"); v != nil {
				u.PromptTokensDetails = &struct {
					CachedTokens int64 `json:"cached_tokens"`
				}{*v}
			}
		case "input_tokens_details":
			if v := detail(1<<5, "cached_tokens"); v != nil {
				u.InputTokensDetails = &struct {
					CachedTokens int64 `json:"cached_tokens"`
				}{*v}
			}
		case "completion_tokens_details":
			if v := detail(1<<6, "reasoning_tokens"); v != nil {
				u.CompletionTokensDetails = &struct {
					ReasoningTokens int64 `json:"reasoning_tokens"`
				}{*v}
			}
		case "output_tokens_details":
			if v := detail(1<<7, "reasoning_tokens"); v != nil {
				u.OutputTokensDetails = &struct {
					ReasoningTokens int64 `json:"reasoning_tokens"`
				}{*v}
			}
		default:
			r.SkipUnknown(key)
		}
	}
}

// DecodeResponse reads a chat.completion body; only the first choice is
// kept.
func (ChatCodec) DecodeResponse(body []byte) (*canon.Response, error) {
	var in chatResponseJSON
	if !readChatResponse(body, &in) {
		in = chatResponseJSON{}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
	}
	if len(in.Choices) == 0 {
		return nil, errors.New("openai: chat completion without choices")
	}
	c := in.Choices[0]
	r := &canon.Response{ID: in.ID, Model: in.Model, StopReason: stopFromChat[c.FinishReason]}
	if t := cmpOr(c.Message.ReasoningContent, c.Message.Reasoning); t != "" {
		r.Content = append(r.Content, canon.Block{Type: canon.BlockThinking, Text: t})
	}
	content, err := decodeChatContent(c.Message.Content)
	if err != nil {
		return nil, err
	}
	r.Content = append(r.Content, content...)
	if c.Message.Refusal != "" {
		r.Content = append(r.Content, canon.Block{Type: canon.BlockText, Text: c.Message.Refusal})
	}
	for _, tc := range c.Message.ToolCalls {
		r.Content = append(r.Content, canon.Block{Type: canon.BlockToolCall, ID: tc.ID, Name: tc.Function.Name, Arguments: argumentsJSON(tc.Function.Arguments)})
	}
	if in.Usage != nil {
		r.Usage = in.Usage.normalise()
	}
	return r, nil
}

// chatUsageOut is usage as Chat writes it: prompt_tokens includes cached
// tokens and cache writes, completion_tokens includes reasoning
// (docs/wire-formats.md, "Usage semantics per provider").
type chatUsageOut struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func encodeChatUsage(u llm.Usage) *chatUsageOut {
	o := &chatUsageOut{PromptTokens: u.PromptTokens(), CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens()}
	o.PromptTokensDetails.CachedTokens = u.CacheReadTokens
	o.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return o
}

// EncodeResponse writes a chat.completion body.
func (ChatCodec) EncodeResponse(r *canon.Response) ([]byte, error) {
	m := assistantMessage(r.Content)
	for i := range m.ToolCalls {
		m.ToolCalls[i].Index = nil
	}
	type choice struct {
		Index        int            `json:"index"`
		Message      chatMessageOut `json:"message"`
		Logprobs     *struct{}      `json:"logprobs"`
		FinishReason string         `json:"finish_reason"`
	}
	return json.Marshal(struct {
		ID      string        `json:"id"`
		Object  string        `json:"object"`
		Created int64         `json:"created"`
		Model   string        `json:"model"`
		Choices []choice      `json:"choices"`
		Usage   *chatUsageOut `json:"usage"`
	}{chatID(r.ID), "chat.completion", time.Now().Unix(), r.Model, []choice{{Message: m, FinishReason: chatFinish(r.StopReason)}}, encodeChatUsage(r.Usage)})
}

func chatID(id string) string {
	if id == "" {
		return "chatcmpl-aether"
	}
	return id
}

// DecodeError reads {"error":{"message","type","param","code"}}; the class
// comes from the status, since OpenAI's types are broad. Compatible
// servers that send {"error":"text"} or another body keep their status.
func (ChatCodec) DecodeError(status int, body []byte) *canon.Error {
	e := &canon.Error{Status: status, Type: canon.TypeForStatus(status)}
	var in struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &in) == nil {
		var obj struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		var text string
		switch {
		case json.Unmarshal(in.Error, &obj) == nil:
			e.Message = obj.Message
			var code string
			if json.Unmarshal(obj.Code, &code) == nil {
				e.Code = code
			}
			if status == 0 { // an error chunk inside a stream
				e.Type = errorTypeFromChat(obj.Type, code)
			}
		case json.Unmarshal(in.Error, &text) == nil:
			e.Message = text
		}
	}
	if e.Message == "" {
		e.Message = "upstream error"
	}
	return e
}

func errorTypeFromChat(typ, code string) canon.ErrorType {
	switch {
	case typ == "rate_limit_exceeded" || code == "rate_limit_exceeded" || typ == "insufficient_quota":
		return canon.ErrRateLimit
	case typ == "invalid_request_error":
		return canon.ErrInvalidRequest
	}
	return canon.ErrAPI
}

// chatErrorTypes gives each canonical type its OpenAI type and default
// code, as this package's WriteError does.
var chatErrorTypes = map[canon.ErrorType][2]string{
	canon.ErrInvalidRequest: {"invalid_request_error", ""},
	canon.ErrAuthentication: {"invalid_request_error", "invalid_api_key"},
	canon.ErrPermission:     {"invalid_request_error", "permission_denied"},
	canon.ErrNotFound:       {"invalid_request_error", "model_not_found"},
	canon.ErrTooLarge:       {"invalid_request_error", "request_too_large"},
	canon.ErrRateLimit:      {"rate_limit_exceeded", "rate_limit_exceeded"},
	canon.ErrAPI:            {"server_error", ""},
	canon.ErrOverloaded:     {"server_error", "service_unavailable"},
}

// EncodeError writes a Chat error body; the caller answers with e.Status.
func (ChatCodec) EncodeError(e *canon.Error) []byte {
	k, ok := chatErrorTypes[e.Type]
	if !ok {
		k = chatErrorTypes[canon.ErrAPI]
	}
	obj := errorObject{Message: e.Message, Type: k[0]}
	if code := cmpOr(e.Code, k[1]); code != "" {
		obj.Code = &code
	}
	b, _ := json.Marshal(errorBody{Error: obj})
	return b
}
