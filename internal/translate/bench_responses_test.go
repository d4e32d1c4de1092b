package translate_test

import (
	"os"
	"path/filepath"
	"testing"

	"aether/internal/translate"
)

// BenchmarkResponsesToAnthropic is Codex on Claude: a Codex-shaped
// Responses request (instructions, images, reasoning items, parallel calls
// and their outputs, built-in tools) to Anthropic, and Anthropic's answer
// (thinking, text, two tool calls) back. Same budget and metrics as
// BenchmarkAnthropicToChat.
func BenchmarkResponsesToAnthropic(b *testing.B) {
	req, err := os.ReadFile(filepath.Join("testdata", "responses_request.json"))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := os.ReadFile(filepath.Join("testdata", "anthropic_response.json"))
	if err != nil {
		b.Fatal(err)
	}
	measure(b, len(req)+len(resp), func() {
		if _, _, err := translate.Request(translate.OpenAIResponses, translate.AnthropicMessages, req, "claude-sonnet-4-5"); err != nil {
			b.Fatal(err)
		}
		if _, err := translate.Response(translate.OpenAIResponses, translate.AnthropicMessages, resp); err != nil {
			b.Fatal(err)
		}
	})
}
