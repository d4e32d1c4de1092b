package translate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"aether/internal/canon"
	"aether/internal/translate"
)

// serve answers every request with body as contentType.
func serve(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAnthropicSDKReadsTranslation: the official Anthropic SDK reads a
// Chat upstream's stream and answer, translated, as whole messages.
func TestAnthropicSDKReadsTranslation(t *testing.T) {
	t.Parallel()
	stream := translateStream(t, translate.AnthropicMessages, translate.OpenAIChat, &canon.Request{Stream: true}, readFile(t, "chat_stream.sse"))
	answer, err := translate.Response(translate.AnthropicMessages, translate.OpenAIChat, readFile(t, "chat_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	check := func(name string, msg anthropic.Message) {
		t.Helper()
		var kinds []string
		for _, b := range msg.Content {
			kinds = append(kinds, b.Type)
		}
		if len(msg.Content) != 4 || kinds[0] != "thinking" || kinds[1] != "text" || kinds[2] != "tool_use" || kinds[3] != "tool_use" {
			t.Fatalf("%s: blocks %v", name, kinds)
		}
		var in struct{ Location string }
		if err := json.Unmarshal(msg.Content[3].Input, &in); err != nil || in.Location != "Paris, France" {
			t.Errorf("%s: tool input %s", name, msg.Content[3].Input)
		}
		u := msg.Usage
		if msg.StopReason != "tool_use" || u.InputTokens != 20 || u.CacheReadInputTokens != 80 || u.OutputTokens != 40 {
			t.Errorf("%s: stop %s, usage %+v", name, msg.StopReason, u)
		}
	}

	client := anthropic.NewClient(aoption.WithBaseURL(serve(t, "text/event-stream", stream)), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	s := client.Messages.NewStreaming(context.Background(), params)
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	check("stream", msg)

	client = anthropic.NewClient(aoption.WithBaseURL(serve(t, "application/json", answer)), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	got, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	check("answer", *got)
}

// TestOpenAISDKReadsTranslation: the official OpenAI SDK reads an
// Anthropic upstream's stream and answer, translated, as whole
// completions.
func TestOpenAISDKReadsTranslation(t *testing.T) {
	t.Parallel()
	stream := translateStream(t, translate.OpenAIChat, translate.AnthropicMessages, &canon.Request{Stream: true, StreamUsage: true}, readFile(t, "anthropic_stream.sse"))
	answer, err := translate.Response(translate.OpenAIChat, translate.AnthropicMessages, readFile(t, "anthropic_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	check := func(name string, c openai.ChatCompletion, prompt, output int64) {
		t.Helper()
		if len(c.Choices) != 1 {
			t.Fatalf("%s: %d choices", name, len(c.Choices))
		}
		ch := c.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 2 || ch.Message.ToolCalls[1].Function.Name != "get_weather" {
			t.Fatalf("%s: %+v", name, ch)
		}
		var in struct{ Location string }
		if err := json.Unmarshal([]byte(ch.Message.ToolCalls[1].Function.Arguments), &in); err != nil || in.Location != "New York, NY" {
			t.Errorf("%s: arguments %q", name, ch.Message.ToolCalls[1].Function.Arguments)
		}
		if u := c.Usage; u.PromptTokens != prompt || u.PromptTokensDetails.CachedTokens != 80 || u.CompletionTokens != output {
			t.Errorf("%s: usage %+v", name, u)
		}
	}

	client := openai.NewClient(ooption.WithBaseURL(serve(t, "text/event-stream", stream)), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
	s := client.Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	check("stream", acc.ChatCompletion, 130, 89)

	client = openai.NewClient(ooption.WithBaseURL(serve(t, "application/json", answer)), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
	got, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	check("answer", *got, 130, 95)
}

// TestSDKsReadTranslatedErrors: each SDK reads an upstream error of the
// other format, re-shaped, with its status.
func TestSDKsReadTranslatedErrors(t *testing.T) {
	t.Parallel()
	serveStatus := func(status int, body []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	status, body := translate.Error(translate.AnthropicMessages, translate.OpenAIChat, 429, readFile(t, "chat_error.json"))
	ac := anthropic.NewClient(aoption.WithBaseURL(serveStatus(status, body)), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	_, err := ac.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "c", MaxTokens: 1,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var aerr *anthropic.Error
	if !errors.As(err, &aerr) || aerr.StatusCode != 429 || !strings.Contains(aerr.RawJSON(), `"rate_limit_error"`) {
		t.Errorf("anthropic SDK: %v", err)
	}
	status, body = translate.Error(translate.OpenAIChat, translate.AnthropicMessages, 529, readFile(t, "anthropic_error.json"))
	oc := openai.NewClient(ooption.WithBaseURL(serveStatus(status, body)), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
	_, err = oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var oerr *openai.Error
	if !errors.As(err, &oerr) || oerr.StatusCode != 529 || oerr.Message != "Overloaded" || oerr.Type != "server_error" {
		t.Errorf("openai SDK: %v", err)
	}
}
