package translate_test

import (
	"os"
	"path/filepath"
	"testing"

	"aether/internal/translate"
)

// BenchmarkGeminiToChat translates a Gemini CLI-shaped request (system
// instruction, image, thoughts, a signed call, parallel calls and their
// responses, two tools) to Chat and Chat's answer back: the priority-5
// direction of issue 12, to compare with BenchmarkAnthropicToChat.
func BenchmarkGeminiToChat(b *testing.B) {
	req, err := os.ReadFile(filepath.Join("testdata", "gemini_request.json"))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := os.ReadFile(filepath.Join("testdata", "chat_response.json"))
	if err != nil {
		b.Fatal(err)
	}
	measure(b, len(req)+len(resp), func() {
		if _, _, err := translate.Request(translate.Gemini, translate.OpenAIChat, req, "gpt-5"); err != nil {
			b.Fatal(err)
		}
		if _, err := translate.Response(translate.Gemini, translate.OpenAIChat, resp); err != nil {
			b.Fatal(err)
		}
	})
}
