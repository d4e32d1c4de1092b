package translate_test

import (
	"testing"

	"aether/internal/canon"
	"aether/internal/translate"
)

// TestGoldenGemini covers the Gemini API against Chat and Anthropic
// Messages, both ways: requests, answers, streams and errors.
func TestGoldenGemini(t *testing.T) {
	goldenSuite{
		requests: []goldenRequest{
			{"gemini to chat", translate.Gemini, translate.OpenAIChat, "gemini_request.json", "gemini_request.chat.json", "gpt-5"},
			{"gemini to anthropic", translate.Gemini, translate.AnthropicMessages, "gemini_request.json", "gemini_request.anthropic.json", "claude-sonnet-4-5"},
			{"chat to gemini", translate.OpenAIChat, translate.Gemini, "chat_request.json", "chat_request.gemini.json", "gemini-3-flash-preview"},
			{"anthropic to gemini", translate.AnthropicMessages, translate.Gemini, "anthropic_request.json", "anthropic_request.gemini.json", "gemini-2.5-flash"},
		},
		responses: []goldenResponse{
			{"gemini to chat", translate.OpenAIChat, translate.Gemini, "gemini_response.json", "gemini_response.chat.json"},
			{"gemini to anthropic", translate.AnthropicMessages, translate.Gemini, "gemini_response.json", "gemini_response.anthropic.json"},
			{"chat to gemini", translate.Gemini, translate.OpenAIChat, "chat_response.json", "chat_response.gemini.json"},
			{"anthropic to gemini", translate.Gemini, translate.AnthropicMessages, "anthropic_response.json", "anthropic_response.gemini.json"},
		},
		streams: []goldenStream{
			{"gemini to chat", translate.OpenAIChat, translate.Gemini, &canon.Request{Stream: true, StreamUsage: true}, "gemini_stream.sse", "gemini_stream.chat.sse"},
			{"gemini to anthropic", translate.AnthropicMessages, translate.Gemini, &canon.Request{Stream: true}, "gemini_stream.sse", "gemini_stream.anthropic.sse"},
			{"chat to gemini", translate.Gemini, translate.OpenAIChat, &canon.Request{Stream: true}, "chat_stream.sse", "chat_stream.gemini.sse"},
			{"anthropic to gemini", translate.Gemini, translate.AnthropicMessages, &canon.Request{Stream: true}, "anthropic_stream.sse", "anthropic_stream.gemini.sse"},
		},
		errors: []goldenError{
			{"gemini 429 to chat", translate.OpenAIChat, translate.Gemini, 429, "gemini_error.json", "gemini_error.chat.json"},
			{"gemini 429 to anthropic", translate.AnthropicMessages, translate.Gemini, 429, "gemini_error.json", "gemini_error.anthropic.json"},
			{"chat 429 to gemini", translate.Gemini, translate.OpenAIChat, 429, "chat_error.json", "chat_error.gemini.json"},
			{"anthropic 529 to gemini", translate.Gemini, translate.AnthropicMessages, 529, "anthropic_error.json", "anthropic_error.gemini.json"},
		},
	}.run(t, golden)
}
