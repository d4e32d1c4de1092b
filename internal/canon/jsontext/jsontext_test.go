package jsontext

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// FuzzAppendString: AppendString writes what json.Marshal writes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"\\/\b\f\n\r\t\x01\x7f <>&", "é\u2028\u2029\xff\xc3", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, json.Marshal %s", s, got, want)
		}
	})
}

// FuzzString: Reader.String decodes what json.Unmarshal decodes, or
// fails.
func FuzzString(f *testing.F) {
	for _, s := range []string{`""`, `"plain"`, `"a\"\\\/\b\f\n\r\t"`, `"\u00e9\ud83d\ude00\ud800"`, "\"\xff\"", `"\x"`, "\"\x01\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var r Reader
		r.Reset([]byte(text))
		got := r.String()
		if !r.End() {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("Reader read %q, json.Unmarshal refuses: %v", text, err)
		}
		if got != want {
			t.Fatalf("Reader read %q as %q, json.Unmarshal as %q", text, got, want)
		}
	})
}

// FuzzSkip: Reader.Skip accepts only what json.Valid accepts.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e+3,true,false,null,"x\u0041"]}`, `[01]`, `{"a" 1}`, `1.`, `-`, `[1,]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var r Reader
		r.Reset([]byte(text))
		r.Skip()
		if r.End() && !json.Valid([]byte(text)) {
			t.Fatalf("Skip accepted %q, json.Valid refuses it", text)
		}
	})
}

// FuzzAppendRaw: AppendRaw writes what json.Marshal writes for a
// json.RawMessage.
func FuzzAppendRaw(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{ "a" : "<b> & \u2028" }`, `["x y"]`, `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !json.Valid([]byte(text)) {
			return
		}
		want, err := json.Marshal(json.RawMessage(text))
		got, err2 := AppendRaw(nil, []byte(text))
		if (err == nil) != (err2 == nil) || string(got) != string(want) {
			t.Fatalf("AppendRaw(%q) = %s, json.Marshal %s", text, got, want)
		}
	})
}

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.7, 1e-7, 1e21, 123456789, 1e20, 5e-324, math.MaxFloat64, 0.000001} {
		want, _ := json.Marshal(f)
		got, err := AppendFloat(nil, f)
		if err != nil || string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, json.Marshal %s", f, got, want)
		}
	}
}

// TestDepth: nesting is limited from the top of the body, as in
// encoding/json, not from where a skip starts.
func TestDepth(t *testing.T) {
	deep := []byte(`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`)
	if json.Valid(deep) {
		t.Fatal("encoding/json accepts the nesting; the test needs more")
	}
	var r Reader
	r.Reset(deep)
	for range r.Object() {
		r.Skip()
	}
	if r.End() {
		t.Fatal("Reader read nesting encoding/json refuses")
	}
}
