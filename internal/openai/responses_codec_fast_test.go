package openai

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzReadResponsesRequest: the Responses request decoder gives the same
// canonical request (or the same error) with its one-scan readers as with
// json.Unmarshal alone.
func FuzzReadResponsesRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "translate", "testdata", "*_request.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"model":"m","input":"a\"\\/\b\f\n\r\t\u00e9 <>&","max_output_tokens":1e3}`))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"x","text":"y"},{"type":"input_image","image_url":{"url":"data:image/png;base64,AA"}}]},{"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"t"}],"encrypted_content":"e","id":"r"},{"type":"function_call","call_id":"c","name":"n","arguments":{"a":1}},{"type":"function_call_output","call_id":"c","output":null}],"Tools":[],"text":{"format":{"type":"json_schema","schema":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, errFast := decodeResponsesRequest(body, true)
		slow, errSlow := decodeResponsesRequest(body, false)
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(errFast, errSlow) {
			t.Fatalf("the one-scan readers and json.Unmarshal differ:\n%+v %v\n%+v %v", fast, errFast, slow, errSlow)
		}
	})
}
