package anthropic

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzReadResponse: the answer decoder gives the same canonical answer
// (or the same error) with readResponse as with json.Unmarshal alone.
func FuzzReadResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "translate", "testdata", "*_response.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"message","content":"a\u00e9","usage":{"input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":2}},"Model":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, errFast := decodeResponse(body, true)
		slow, errSlow := decodeResponse(body, false)
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(errFast, errSlow) {
			t.Fatalf("readResponse and json.Unmarshal differ:\n%+v %v\n%+v %v", fast, errFast, slow, errSlow)
		}
	})
}
