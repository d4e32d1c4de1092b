package translate_test

import (
	"encoding/json"
	"strings"
	"testing"

	"aether/internal/canon"
	"aether/internal/translate"
)

// TestGeminiSignatureThroughClients: a Gemini answer's thought signatures
// reach Gemini again after a round through an Anthropic or a Responses
// client (which send the answer back as history), and never reach
// Anthropic.
func TestGeminiSignatureThroughClients(t *testing.T) {
	t.Parallel()
	answer := readFile(t, "gemini_response.json")
	const sig = `"thoughtSignature":"CiQBVKhc7vB+vaaq6rA2pA2YtG2gQ0jR6p0lD9lnqvNmqPcV3Fg="`

	// Anthropic: the answer's content becomes the assistant turn.
	out, err := translate.Response(translate.AnthropicMessages, translate.Gemini, answer)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(out, &msg); err != nil {
		t.Fatal(err)
	}
	history := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":` + string(msg.Content) + `},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_mP1LafnBJ5ysz7IP5p6p0Qo_0","content":"22"},{"type":"tool_result","tool_use_id":"call_mP1LafnBJ5ysz7IP5p6p0Qo_1","content":"18"}]}]}`
	req, _, err := translate.Request(translate.AnthropicMessages, translate.Gemini, []byte(history), "gemini-3-pro-preview")
	if err != nil {
		t.Fatal(err)
	}
	s := string(req)
	if !strings.Contains(s, `"args":{"location":"Boston, MA"}},`+sig) || strings.Count(s, "thoughtSignature") != 1 {
		t.Errorf("signature not on the first call: %s", s)
	}
	if !strings.Contains(s, `"functionResponse":{"id":"call_mP1LafnBJ5ysz7IP5p6p0Qo_1","name":"get_current_weather","response":{"output":"18"}}`) {
		t.Errorf("function response not named: %s", s)
	}
	// A Gemini client's history signed by Gemini, sent to Anthropic,
	// carries no Gemini signature.
	req, _, err = translate.Request(translate.Gemini, translate.AnthropicMessages, readFile(t, "gemini_request.json"), "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(req), "gemini:") || strings.Contains(string(req), "CiQBVKhc") {
		t.Errorf("Gemini signature sent to Anthropic: %s", req)
	}
}

// TestGeminiStreamToEveryClient: a Gemini stream gives each client format
// its complete sequence, and a Gemini client gets a last chunk with
// finishReason from each upstream.
func TestGeminiStreamToEveryClient(t *testing.T) {
	t.Parallel()
	ends := map[translate.API]string{
		translate.AnthropicMessages: "event: message_stop",
		translate.OpenAIChat:        "data: [DONE]",
		translate.OpenAIResponses:   "event: response.completed",
	}
	for client, end := range ends {
		out := string(translateStream(t, client, translate.Gemini, &canon.Request{Stream: true, StreamUsage: true}, readFile(t, "gemini_stream.sse")))
		if !strings.Contains(out, end) {
			t.Errorf("%s client: no %q in\n%s", client, end, out)
		}
	}
	for upstream, fixture := range map[translate.API]string{translate.OpenAIResponses: "responses_stream.sse", translate.OpenAIChat: "chat_stream.sse", translate.AnthropicMessages: "anthropic_stream.sse"} {
		out := string(translateStream(t, translate.Gemini, upstream, &canon.Request{Stream: true}, readFile(t, fixture)))
		if !strings.Contains(out, `"finishReason":"STOP"`) || !strings.Contains(out, `"usageMetadata"`) {
			t.Errorf("%s upstream: no finish chunk in\n%s", upstream, out)
		}
	}
}
