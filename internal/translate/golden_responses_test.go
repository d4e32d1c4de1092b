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
	goldenSuite{
		requests: []goldenRequest{
			{"responses to chat", translate.OpenAIResponses, translate.OpenAIChat, "responses_request.json", "responses_request.chat.json", "deepseek-reasoner"},
			{"responses to anthropic", translate.OpenAIResponses, translate.AnthropicMessages, "responses_request.json", "responses_request.anthropic.json", "claude-sonnet-4-5"},
			{"chat to responses", translate.OpenAIChat, translate.OpenAIResponses, "chat_request.json", "chat_request.responses.json", ""},
			{"anthropic to responses", translate.AnthropicMessages, translate.OpenAIResponses, "anthropic_request.json", "anthropic_request.responses.json", "gpt-5"},
		},
		responses: []goldenResponse{
			{"responses to chat", translate.OpenAIChat, translate.OpenAIResponses, "responses_response.json", "responses_response.chat.json"},
			{"responses to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, "responses_response.json", "responses_response.anthropic.json"},
			{"chat to responses", translate.OpenAIResponses, translate.OpenAIChat, "chat_response.json", "chat_response.responses.json"},
			{"anthropic to responses", translate.OpenAIResponses, translate.AnthropicMessages, "anthropic_response.json", "anthropic_response.responses.json"},
		},
		streams: []goldenStream{
			{"responses to chat", translate.OpenAIChat, translate.OpenAIResponses, &canon.Request{Stream: true, StreamUsage: true}, "responses_stream.sse", "responses_stream.chat.sse"},
			{"responses to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, &canon.Request{Stream: true}, "responses_stream.sse", "responses_stream.anthropic.sse"},
			{"chat to responses", translate.OpenAIResponses, translate.OpenAIChat, &canon.Request{Stream: true}, "chat_stream.sse", "chat_stream.responses.sse"},
			{"anthropic to responses", translate.OpenAIResponses, translate.AnthropicMessages, &canon.Request{Stream: true}, "anthropic_stream.sse", "anthropic_stream.responses.sse"},
		},
		errors: []goldenError{
			{"responses 429 to anthropic", translate.AnthropicMessages, translate.OpenAIResponses, 429, "responses_error.json", "responses_error.anthropic.json"},
			{"anthropic 529 to responses", translate.OpenAIResponses, translate.AnthropicMessages, 529, "anthropic_error.json", "anthropic_error.responses.json"},
		},
	}.run(t, goldenResponses)
}
