package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzReadChatResponse: where readChatResponse reads a body,
// json.Unmarshal reads it too, into the same value.
func FuzzReadChatResponse(f *testing.F) {
	for _, pattern := range []string{"chat_response.json", "bench/chat_response.json"} {
		b, err := os.ReadFile(filepath.Join("..", "translate", "testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"choices":[{"index":0,"message":{"content":null,"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}}],"usage":{"input_tokens":1,"output_tokens_details":{"reasoning_tokens":2}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast chatResponseJSON
		if !readChatResponse(body, &fast) {
			return
		}
		var slow chatResponseJSON
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("readChatResponse read a body json.Unmarshal refuses: %v", err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("readChatResponse and json.Unmarshal differ:\n%+v\n%+v", fast, slow)
		}
	})
}
