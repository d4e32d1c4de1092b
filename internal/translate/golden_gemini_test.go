package translate_test

import (
	"testing"

	"aether/internal/canon"
	"aether/internal/translate"
)

// TestGoldenGemini covers the Gemini API against Chat and Anthropic
// Messages, both ways: requests, answers, streams and errors.
func TestGoldenGemini(t *testing.T) {
	requests := []struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
		model            string
	}{
		{"gemini to chat", translate.Gemini, translate.OpenAIChat, "gemini_request.json", "gemini_request.chat.json", "gpt-5"},
		{"gemini to anthropic", translate.Gemini, translate.AnthropicMessages, "gemini_request.json", "gemini_request.anthropic.json", "claude-sonnet-4-5"},
		{"chat to gemini", translate.OpenAIChat, translate.Gemini, "chat_request.json", "chat_request.gemini.json", "gemini-3-flash-preview"},
		{"anthropic to gemini", translate.AnthropicMessages, translate.Gemini, "anthropic_request.json", "anthropic_request.gemini.json", "gemini-2.5-flash"},
	}
	for _, c := range requests {
		t.Run("request "+c.name, func(t *testing.T) {
			out, _, err := translate.Request(c.client, c.upstream, readFile(t, c.fixture), c.model)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, indent(t, out))
		})
	}
	responses := []struct {
		name             string
		client, upstream translate.API
		fixture, golden  string
	}{
		{"gemini to chat", translate.OpenAIChat, translate.Gemini, "gemini_response.json", "gemini_response.chat.json"},
		{"gemini to anthropic", translate.AnthropicMessages, translate.Gemini, "gemini_response.json", "gemini_response.anthropic.json"},
		{"chat to gemini", translate.Gemini, translate.OpenAIChat, "chat_response.json", "chat_response.gemini.json"},
		{"anthropic to gemini", translate.Gemini, translate.AnthropicMessages, "anthropic_response.json", "anthropic_response.gemini.json"},
	}
	for _, c := range responses {
		t.Run("response "+c.name, func(t *testing.T) {
			out, err := translate.Response(c.client, c.upstream, readFile(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, indent(t, out))
		})
	}
	streams := []struct {
		name             string
		client, upstream translate.API
		req              *canon.Request
		fixture, golden  string
	}{
		{"gemini to chat", translate.OpenAIChat, translate.Gemini, &canon.Request{Stream: true, StreamUsage: true}, "gemini_stream.sse", "gemini_stream.chat.sse"},
		{"gemini to anthropic", translate.AnthropicMessages, translate.Gemini, &canon.Request{Stream: true}, "gemini_stream.sse", "gemini_stream.anthropic.sse"},
		{"chat to gemini", translate.Gemini, translate.OpenAIChat, &canon.Request{Stream: true}, "chat_stream.sse", "chat_stream.gemini.sse"},
		{"anthropic to gemini", translate.Gemini, translate.AnthropicMessages, &canon.Request{Stream: true}, "anthropic_stream.sse", "anthropic_stream.gemini.sse"},
	}
	for _, c := range streams {
		t.Run("stream "+c.name, func(t *testing.T) {
			golden(t, c.golden, translateStream(t, c.client, c.upstream, c.req, readFile(t, c.fixture)))
		})
	}
	errs := []struct {
		name             string
		client, upstream translate.API
		status           int
		fixture, golden  string
	}{
		{"gemini 429 to chat", translate.OpenAIChat, translate.Gemini, 429, "gemini_error.json", "gemini_error.chat.json"},
		{"gemini 429 to anthropic", translate.AnthropicMessages, translate.Gemini, 429, "gemini_error.json", "gemini_error.anthropic.json"},
		{"chat 429 to gemini", translate.Gemini, translate.OpenAIChat, 429, "chat_error.json", "chat_error.gemini.json"},
		{"anthropic 529 to gemini", translate.Gemini, translate.AnthropicMessages, 529, "anthropic_error.json", "anthropic_error.gemini.json"},
	}
	for _, c := range errs {
		t.Run("error "+c.name, func(t *testing.T) {
			status, out := translate.Error(c.client, c.upstream, c.status, readFile(t, c.fixture))
			if status != c.status {
				t.Errorf("status %d, want %d", status, c.status)
			}
			golden(t, c.golden, indent(t, out))
		})
	}
}
