package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzReadRequest: where readRequest reads a body, json.Unmarshal reads
// it too and both give the same canonical request (or the same error).
func FuzzReadRequest(f *testing.F) {
	for _, pattern := range []string{"*_request.json", "bench/*_request.json"} {
		files, _ := filepath.Glob(filepath.Join("..", "translate", "testdata", pattern))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"a\"\\/\b\f\n\r\t\u00e9 <>&"}],"stop_sequences":[],"max_tokens":1e3}`))
	f.Add([]byte(`{"Model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","text":"y"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast requestJSON
		if !readRequest(body, &fast) {
			return
		}
		var slow requestJSON
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("readRequest read a body json.Unmarshal refuses: %v", err)
		}
		a, errA := fast.canon()
		b, errB := slow.canon()
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(errA, errB) {
			t.Fatalf("readRequest and json.Unmarshal differ:\n%+v %v\n%+v %v", a, errA, b, errB)
		}
	})
}
