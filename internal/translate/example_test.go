package translate_test

import (
	"fmt"

	"aether/internal/translate"
)

// An Anthropic client served by a Chat upstream: the request, then the
// answer.
func Example() {
	body, _, err := translate.Request(translate.AnthropicMessages, translate.OpenAIChat,
		[]byte(`{"model":"claude-sonnet-4-5","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`),
		"gpt-4o-mini")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(body))

	answer, err := translate.Response(translate.AnthropicMessages, translate.OpenAIChat,
		[]byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],
		"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":8}}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(answer))
	// Output:
	// {"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_completion_tokens":256}
	// {"id":"chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o-mini","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":8,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":3}}
}
