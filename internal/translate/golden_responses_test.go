package translate_test

import (
	"regexp"
	"testing"

	"aether/internal/canon"
	"aether/internal/translate"
)

// createdAt is the Responses field that depends on the clock.
var createdAt = regexp.MustCompile(`"created_at":\s*\d+`)

func goldenResponses(t *testing.T, name string, got []byte) {
	t.Helper()
	golden(t, name, createdAt.ReplaceAll(got, []byte(`"created_at":0`)))
}

// TestGoldenResponsesAPI covers the OpenAI Responses API against Chat and
// Anthropic Messages, both ways: requests, answers, streams and errors.
func TestGoldenResponsesAPI(t *testing.T) {
	requests := []struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
		model            string
	}{
		{"responses to chat", translate.OpenAIResponses, translate.OpenAIChat, "responses_request.json", "responses_request.chat.json", "deepseek-reasoner"},
		{"responses to anthropic", translate.OpenAIResponses, translate.AnthropicMessages, "responses_request.json", "responses_request.anthropic.json", "claude-sonnet-4-5"},
		{"chat to responses", translate.OpenAIChat, translate.OpenAIResponses, "chat_request.json", "chat_request.responses.json", ""},
		{"anthropic to responses", translate.AnthropicMessages, translate.OpenAIResponses, "anthropic_request.json", "anthropic_request.responses.json", "gpt-5"},
	}
	for _, c := range requests {
		t.Run("request "+c.name, func(t *testing.T) {
			out, _, err := translate.Request(c.client, c.upstream, readFile(t, c.fixture), c.model)
			if err != nil {
				t.Fatal(err)
			}
			goldenResponses(t, c.golden, indent(t, out))
		})
	}
	responses := []struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
	}{
		{"responses to chat", translate.OpenAIChat, translate.OpenAIResponses, "responses_response.json", "responses_response.chat.json"},
		{"responses to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, "responses_response.json", "responses_response.anthropic.json"},
		{"chat to responses", translate.OpenAIResponses, translate.OpenAIChat, "chat_response.json", "chat_response.responses.json"},
		{"anthropic to responses", translate.OpenAIResponses, translate.AnthropicMessages, "anthropic_response.json", "anthropic_response.responses.json"},
	}
	for _, c := range responses {
		t.Run("response "+c.name, func(t *testing.T) {
			out, err := translate.Response(c.client, c.upstream, readFile(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			goldenResponses(t, c.golden, indent(t, out))
		})
	}
	streams := []struct {
		name             string
		client, upstream translate.API
		req              *canon.Request
		fixture, golden  string
	}{
		{"responses to chat", translate.OpenAIChat, translate.OpenAIResponses, &canon.Request{Stream: true, StreamUsage: true}, "responses_stream.sse", "responses_stream.chat.sse"},
		{"responses to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, &canon.Request{Stream: true}, "responses_stream.sse", "responses_stream.anthropic.sse"},
		{"chat to responses", translate.OpenAIResponses, translate.OpenAIChat, &canon.Request{Stream: true}, "chat_stream.sse", "chat_stream.responses.sse"},
		{"anthropic to responses", translate.OpenAIResponses, translate.AnthropicMessages, &canon.Request{Stream: true}, "anthropic_stream.sse", "anthropic_stream.responses.sse"},
	}
	for _, c := range streams {
		t.Run("stream "+c.name, func(t *testing.T) {
			goldenResponses(t, c.golden, translateStream(t, c.client, c.upstream, c.req, readFile(t, c.fixture)))
		})
	}
	errs := []struct {
		name             string
		client, upstream translate.API
		status           int
		fixture, golden  string
	}{
		{"responses 429 to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, 429, "responses_error.json", "responses_error.anthropic.json"},
		{"anthropic 529 to responses", translate.OpenAIResponses, translate.AnthropicMessages, 529, "anthropic_error.json", "anthropic_error.responses.json"},
	}
	for _, c := range errs {
		t.Run("error "+c.name, func(t *testing.T) {
			status, out := translate.Error(c.client, c.upstream, c.status, readFile(t, c.fixture))
			if status != c.status {
				t.Errorf("status %d, want %d", status, c.status)
			}
			goldenResponses(t, c.golden, indent(t, out))
		})
	}
}
