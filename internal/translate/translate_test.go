package translate_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"aether/internal/anthropic"
	"aether/internal/canon"
	"aether/internal/llm"
	"aether/internal/openai"
	"aether/internal/translate"
)

func TestSupported(t *testing.T) {
	t.Parallel()
	cases := []struct {
		client, upstream translate.API
		want             bool
	}{
		{translate.AnthropicMessages, translate.OpenAIChat, true},
		{translate.OpenAIChat, translate.AnthropicMessages, true},
		{translate.OpenAIChat, translate.OpenAIChat, false}, // passthrough
		{translate.Gemini, translate.OpenAIChat, true},
		{translate.AnthropicMessages, "nonsense", false},
	}
	for _, c := range cases {
		if got := translate.Supported(c.client, c.upstream); got != c.want {
			t.Errorf("Supported(%s, %s) = %v, want %v", c.client, c.upstream, got, c.want)
		}
	}
	want := []translate.Pair{
		{translate.AnthropicMessages, translate.Gemini}, {translate.AnthropicMessages, translate.OpenAIChat}, {translate.AnthropicMessages, translate.OpenAIResponses},
		{translate.Gemini, translate.AnthropicMessages}, {translate.Gemini, translate.OpenAIChat}, {translate.Gemini, translate.OpenAIResponses},
		{translate.OpenAIChat, translate.AnthropicMessages}, {translate.OpenAIChat, translate.Gemini}, {translate.OpenAIChat, translate.OpenAIResponses},
		{translate.OpenAIResponses, translate.AnthropicMessages}, {translate.OpenAIResponses, translate.Gemini}, {translate.OpenAIResponses, translate.OpenAIChat},
	}
	if got := translate.Pairs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Pairs() = %v, want %v", got, want)
	}
	if _, _, err := translate.Request(translate.Gemini, "nonsense", []byte(`{}`), ""); !errors.Is(err, translate.ErrUnsupported) {
		t.Errorf("Request on an unsupported pair: %v", err)
	}
}

func TestRequestBadBodyIsClientError(t *testing.T) {
	t.Parallel()
	_, _, err := translate.Request(translate.AnthropicMessages, translate.OpenAIChat, []byte(`{"messages":"nope"}`), "")
	var ce *canon.Error
	if !errors.As(err, &ce) || ce.Status != 400 || ce.Type != canon.ErrInvalidRequest {
		t.Fatalf("err = %#v, want a 400 *canon.Error", err)
	}
	var body struct {
		Type  string                `json:"type"`
		Error struct{ Type string } `json:"error"`
	}
	if err := json.Unmarshal(translate.ErrorBody(translate.AnthropicMessages, ce), &body); err != nil || body.Type != "error" || body.Error.Type != "invalid_request_error" {
		t.Errorf("ErrorBody = %+v, %v", body, err)
	}
}

func TestUpstreamModel(t *testing.T) {
	t.Parallel()
	out, req, err := translate.Request(translate.OpenAIChat, translate.AnthropicMessages,
		[]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`), "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Model     string `json:"model"`
		MaxTokens int64  `json:"max_tokens"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.Model != "claude-sonnet-4-5" || v.MaxTokens != anthropic.DefaultMaxTokens || req.Model != "gpt-4o" {
		t.Errorf("model %q, max_tokens %d, client model %q", v.Model, v.MaxTokens, req.Model)
	}
}

// TestUsageMapping checks that every token lands in one bucket both ways
// (docs/wire-formats.md, "Usage semantics per provider").
func TestUsageMapping(t *testing.T) {
	t.Parallel()
	// Chat: prompt_tokens includes cached_tokens; completion includes reasoning.
	chat := []byte(`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],
		"usage":{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":80},"completion_tokens_details":{"reasoning_tokens":12}}}`)
	r, err := openai.ChatCodec{}.DecodeResponse(chat)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{InputTokens: 20, CacheReadTokens: 80, OutputTokens: 40, ReasoningTokens: 12, Known: true}
	if r.Usage != want {
		t.Errorf("chat usage = %+v, want %+v", r.Usage, want)
	}
	// Into Anthropic: input_tokens excludes the cache read.
	b, _ := anthropic.Codec{}.EncodeResponse(r)
	back, err := anthropic.Codec{}.DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Usage; got.InputTokens != 20 || got.CacheReadTokens != 80 || got.OutputTokens != 40 {
		t.Errorf("anthropic usage = %+v", got)
	}
	// Anthropic: input 20, cache read 80, writes 10 (5m) + 20 (1h).
	ant := []byte(`{"id":"m","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"x"}],"stop_reason":"end_turn",
		"usage":{"input_tokens":20,"cache_read_input_tokens":80,"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20},"output_tokens":95}}`)
	ar, err := anthropic.Codec{}.DecodeResponse(ant)
	if err != nil {
		t.Fatal(err)
	}
	want = llm.Usage{InputTokens: 20, CacheReadTokens: 80, CacheWrite5mTokens: 10, CacheWrite1hTokens: 20, OutputTokens: 95, Known: true}
	if ar.Usage != want {
		t.Errorf("anthropic usage = %+v, want %+v", ar.Usage, want)
	}
	b, _ = openai.ChatCodec{}.EncodeResponse(ar)
	var cu struct {
		Usage struct {
			PromptTokens        int64 `json:"prompt_tokens"`
			CompletionTokens    int64 `json:"completion_tokens"`
			TotalTokens         int64 `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens int64 `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		}
	}
	if err := json.Unmarshal(b, &cu); err != nil {
		t.Fatal(err)
	}
	// prompt = 20 + 80 + 30 writes; cached = 80 only (Chat has no write field).
	if u := cu.Usage; u.PromptTokens != 130 || u.PromptTokensDetails.CachedTokens != 80 || u.CompletionTokens != 95 || u.TotalTokens != 225 {
		t.Errorf("chat usage = %+v", u)
	}
}

func TestStopReasons(t *testing.T) {
	t.Parallel()
	cases := []struct{ chat, canonical, anthropic string }{
		{"stop", "end_turn", "end_turn"},
		{"length", "max_tokens", "max_tokens"},
		{"tool_calls", "tool_use", "tool_use"},
		{"content_filter", "content_filter", "refusal"},
	}
	for _, c := range cases {
		body := []byte(`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"` + c.chat + `"}]}`)
		out, err := translate.Response(translate.AnthropicMessages, translate.OpenAIChat, body)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			StopReason string `json:"stop_reason"`
		}
		_ = json.Unmarshal(out, &v)
		if v.StopReason != c.anthropic {
			t.Errorf("chat %s → anthropic %s, want %s", c.chat, v.StopReason, c.anthropic)
		}
		back, _ := translate.Response(translate.OpenAIChat, translate.AnthropicMessages, out)
		var w struct {
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			}
		}
		_ = json.Unmarshal(back, &w)
		if len(w.Choices) != 1 || w.Choices[0].FinishReason != c.chat {
			t.Errorf("anthropic %s → chat %+v, want %s", c.anthropic, w.Choices, c.chat)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// roundTrip encodes a canonical request in one format and decodes it back.
func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	base := canon.Request{
		Model:  "m",
		System: []canon.Block{{Type: canon.BlockText, Text: "Be brief."}},
		Messages: []canon.Message{
			{Role: canon.RoleUser, Content: []canon.Block{
				{Type: canon.BlockText, Text: "Look:"},
				{Type: canon.BlockImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
				{Type: canon.BlockImage, URL: "https://example.com/a.jpg"},
			}},
			{Role: canon.RoleAssistant, Content: []canon.Block{
				{Type: canon.BlockText, Text: "Calling."},
				{Type: canon.BlockToolCall, ID: "t1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)},
				{Type: canon.BlockToolCall, ID: "t2", Name: "f", Arguments: json.RawMessage(`{"a":2}`)},
			}},
			{Role: canon.RoleUser, Content: []canon.Block{
				{Type: canon.BlockToolResult, ID: "t1", Content: []canon.Block{{Type: canon.BlockText, Text: "one"}}},
				{Type: canon.BlockToolResult, ID: "t2", Content: []canon.Block{{Type: canon.BlockText, Text: "two"}}},
			}},
		},
		Tools:       []canon.Tool{{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice:  &canon.ToolChoice{Mode: canon.ToolNamed, Name: "f"},
		MaxTokens:   100,
		Temperature: ptr(0.5),
		TopP:        ptr(0.9),
		Stop:        []string{"x", "y"},
		Stream:      true,
		User:        "u",
	}
	codecs := map[string]translate.Codec{"anthropic": anthropic.Codec{}, "chat": openai.ChatCodec{}}
	for name, c := range codecs {
		b, err := c.EncodeRequest(&base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DecodeRequest(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := base
		want.StreamUsage = true // both ask for usage in a stream
		if name == "anthropic" {
			want.ParallelToolCalls = nil
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("%s round trip:\n got %s\nwant %s", name, gb, wb)
		}
	}
}

func TestThinkingSurvives(t *testing.T) {
	t.Parallel()
	// Anthropic → canon → Anthropic keeps signatures and redacted data.
	body := []byte(`{"model":"c","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[
		{"role":"user","content":"q"},
		{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"sig"},{"type":"redacted_thinking","data":"opaque"},{"type":"tool_use","id":"x","name":"f","input":{}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":"r"}]}]}`)
	r, err := anthropic.Codec{}.DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := anthropic.Codec{}.EncodeRequest(r)
	back, _ := anthropic.Codec{}.DecodeRequest(out)
	if !reflect.DeepEqual(back.Messages[1].Content[:2], []canon.Block{{Type: canon.BlockThinking, Text: "t", Signature: "sig"}, {Type: canon.BlockRedactedThinking, Data: "opaque"}}) {
		t.Errorf("thinking lost: %+v", back.Messages[1].Content)
	}
	if back.Reasoning == nil || back.Reasoning.BudgetTokens != 2000 {
		t.Errorf("reasoning = %+v", back.Reasoning)
	}
	// Into Chat the thinking text becomes reasoning_content.
	chat, _, err := translate.Request(translate.AnthropicMessages, translate.OpenAIChat, body, "")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Messages []struct {
			ReasoningContent string `json:"reasoning_content"`
		}
		ReasoningEffort string `json:"reasoning_effort"`
	}
	_ = json.Unmarshal(chat, &v)
	if v.Messages[1].ReasoningContent != "t" || v.ReasoningEffort != "low" {
		t.Errorf("chat = %s", chat)
	}
}

func TestJSONMode(t *testing.T) {
	t.Parallel()
	// json_object has no Anthropic equivalent and is dropped; json_schema maps.
	out, _, err := translate.Request(translate.OpenAIChat, translate.AnthropicMessages,
		[]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal(out, &map[string]any{}) != nil || contains(out, "output_config") {
		t.Errorf("json_object: %s", out)
	}
	out, _, err = translate.Request(translate.AnthropicMessages, translate.OpenAIChat,
		[]byte(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if !contains(out, `"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object"}}}`) {
		t.Errorf("json_schema: %s", out)
	}
}

func contains(b []byte, s string) bool { return json.Valid(b) && strings.Contains(string(b), s) }
