package openai

import (
	"encoding/json"
	"testing"

	"aether/internal/llm"
)

// slowUsage is BodyUsage through encoding/json only, the reference.
func slowUsage(body []byte) llm.Usage {
	var v struct {
		Usage *usageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &v) != nil || v.Usage == nil {
		return llm.Usage{}
	}
	return v.Usage.normalise()
}

var usageDocs = []struct {
	name, doc string
	fast      bool // read without encoding/json
}{
	{"chat", `{"usage":{"prompt_tokens":35,"completion_tokens":11,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":17,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":4,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`, true},
	{"responses", `{"usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":10},"total_tokens":1050}}`, true},
	{"spaces", " {\n \"usage\" : { \"prompt_tokens\" : 3 , \"x\" : \"y\" , \"ok\" : true , \"no\" : false , \"f\" : -1.5e+3 } } \n", true},
	{"empty doc", `{}`, true},
	{"empty usage", `{"usage":{}}`, true},
	{"repeated key, last wins", `{"usage":{"prompt_tokens":1,"prompt_tokens":2}}`, true},
	{"repeated details merge", `{"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":5},"prompt_tokens_details":{}}}`, true},
	{"negative", `{"usage":{"prompt_tokens":-3}}`, true},
	{"null usage", `{"usage":null}`, false},
	{"null count", `{"usage":{"prompt_tokens":null,"completion_tokens":2}}`, false},
	{"null details", `{"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":5},"prompt_tokens_details":null}}`, false},
	{"float count", `{"usage":{"prompt_tokens":3.0}}`, false},
	{"exponent count", `{"usage":{"prompt_tokens":1e2}}`, false},
	{"string count", `{"usage":{"prompt_tokens":"3"}}`, false},
	{"overflow", `{"usage":{"prompt_tokens":9223372036854775808}}`, false},
	{"folded key", `{"usage":{"Prompt_Tokens":7}}`, false},
	{"folded usage", `{"Usage":{"prompt_tokens":7}}`, false},
	{"escaped key", `{"usage":{"prompt\u005ftokens":7}}`, false},
	{"nested unknown", `{"usage":{"prompt_tokens":7,"server_tool_use":{"web_search_requests":1}}}`, false},
	{"two usages", `{"usage":{"prompt_tokens":7},"usage":{"completion_tokens":1}}`, false},
	{"leading zero", `{"usage":{"prompt_tokens":07}}`, false},
	{"truncated", `{"usage":{"prompt_tokens":7`, false},
	{"trailing comma", `{"usage":{"prompt_tokens":7,}}`, false},
	{"not an object", `[1]`, false},
}

// TestFastUsageMatchesEncodingJSON: the hand-written reader gives exactly
// what encoding/json gives, and leaves every unusual document to it.
func TestFastUsageMatchesEncodingJSON(t *testing.T) {
	for _, c := range usageDocs {
		t.Run(c.name, func(t *testing.T) {
			_, _, ok := fastUsage([]byte(c.doc))
			if ok != c.fast {
				t.Errorf("fast path taken = %v, want %v", ok, c.fast)
			}
			if got, want := (Dialect{}).BodyUsage([]byte(c.doc)), slowUsage([]byte(c.doc)); got != want {
				t.Errorf("BodyUsage = %+v, encoding/json gives %+v", got, want)
			}
		})
	}
}

func FuzzBodyUsageFast(f *testing.F) {
	for _, c := range usageDocs {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if got, want := (Dialect{}).BodyUsage(doc), slowUsage(doc); got != want {
			t.Fatalf("BodyUsage(%q) = %+v, encoding/json gives %+v", doc, got, want)
		}
	})
}

func BenchmarkBodyUsage(b *testing.B) {
	doc := []byte(usageDocs[0].doc)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Dialect{}.BodyUsage(doc)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = slowUsage(doc)
		}
	})
}
