package jsonbody

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestParseAndSet(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		key   string
		value string
		want  string
	}{
		{"replace model", `{"model":"a","messages":[{"role":"user","content":"hi \"model\""}]}`, "model", `"b"`,
			`{"model":"b","messages":[{"role":"user","content":"hi \"model\""}]}`},
		{"keeps unknown fields and spacing", "{ \"thinking\": {\"type\":\"adaptive\"},\n \"model\" : \"x\" }", "model", `"y"`,
			"{ \"thinking\": {\"type\":\"adaptive\"},\n \"model\" : \"y\" }"},
		{"append", `{"stream":true}`, "stream_options", `{"include_usage":true}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{"append to empty", `{ }`, "model", `"m"`, `{ "model":"m"}`},
		{"nested model untouched", `{"metadata":{"model":"keep"},"model":"a"}`, "model", `"b"`, `{"metadata":{"model":"keep"},"model":"b"}`},
		{"escaped key", `{"mod\u0065l":"a"}`, "model", `"b"`, `{"mod\u0065l":"b"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := string(o.Set(tt.key, []byte(tt.value)))
			if got != tt.want {
				t.Fatalf("Set = %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("result is not valid JSON: %s", got)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, body := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1`, `{"a":1}{}`, `null`} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("Parse(%q) succeeded", body)
		}
	}
}

func TestAccessors(t *testing.T) {
	o, err := Parse([]byte(`{"model":"gpt","stream":true,"n":2,"model":"last"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := o.String("model"); !ok || s != "last" {
		t.Fatalf("String = %q %v", s, ok)
	}
	if !o.Bool("stream") || o.Bool("n") {
		t.Fatal("Bool wrong")
	}
	if _, ok := o.String("n"); ok {
		t.Fatal("number read as string")
	}
}

// FuzzSet checks, for any valid object, that Parse agrees with
// encoding/json on the top-level members and that Set yields valid JSON
// where the key has the new value and every other member is unchanged.
func FuzzSet(f *testing.F) {
	f.Add([]byte(`{"model":"a","x":[1,{"y":"}"}]}`), "model")
	f.Add([]byte(`{}`), "stream_options")
	f.Add([]byte(` {"a" : "\"\\" , "b":null} `), "b")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		var ref map[string]json.RawMessage
		if !utf8.ValidString(key) || json.Unmarshal(body, &ref) != nil || ref == nil {
			return
		}
		o, err := Parse(body)
		if err != nil {
			t.Fatalf("Parse rejected valid object %q: %v", body, err)
		}
		out := o.Set(key, []byte(`{"k":1}`))
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Set produced invalid JSON %q from %q", out, body)
		}
		var v any
		_ = json.Unmarshal(got[key], &v)
		if !reflect.DeepEqual(v, map[string]any{"k": 1.0}) {
			t.Fatalf("key %q = %s after Set", key, got[key])
		}
		for k, raw := range ref {
			if k == key {
				continue
			}
			var a, b any
			_ = json.Unmarshal(raw, &a)
			_ = json.Unmarshal(got[k], &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("member %q changed: %s -> %s", k, raw, got[k])
			}
		}
	})
}

// TestEditInPlace: Edit gives what Set gives, reuses the body's spare
// capacity instead of copying, and keeps the index usable for more edits.
func TestEditInPlace(t *testing.T) {
	tests := []struct {
		name, body string
		edits      [][2]string
		want       string
	}{
		{"longer model", `{"model":"a","messages":[1,2,3],"stream":true}`, [][2]string{{"model", `"claude-sonnet-4-5-20250929"`}},
			`{"model":"claude-sonnet-4-5-20250929","messages":[1,2,3],"stream":true}`},
		{"shorter model", `{"messages":[1],"model":"a-very-long-name","x":{"model":"keep"}}`, [][2]string{{"model", `"b"`}},
			`{"messages":[1],"model":"b","x":{"model":"keep"}}`},
		{"model then stream options", `{"model":"a","stream":true}`, [][2]string{{"model", `"bb"`}, {"stream_options", `{"include_usage":true}`}, {"model", `"c"`}},
			`{"model":"c","stream":true,"stream_options":{"include_usage":true}}`},
		{"repeated key", `{"model":"a","model":"b","n":1}`, [][2]string{{"model", `"long-name"`}, {"n", `2`}},
			`{"model":"long-name","model":"long-name","n":2}`},
		{"append to empty", `{ }`, [][2]string{{"model", `"m"`}}, `{ "model":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, room := range []int{0, 256} {
				buf := make([]byte, len(tt.body), len(tt.body)+room)
				copy(buf, tt.body)
				o, err := Parse(buf)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range tt.edits {
					o.Edit(e[0], []byte(e[1]))
				}
				if string(o.Body) != tt.want {
					t.Fatalf("room %d: Edit = %s, want %s", room, o.Body, tt.want)
				}
				if room > 0 && &o.Body[0] != &buf[0] {
					t.Fatalf("room %d: body was copied", room)
				}
				again, _ := Parse(o.Body)
				if !reflect.DeepEqual(again.Fields, o.Fields) {
					t.Fatalf("index %+v, want %+v", o.Fields, again.Fields)
				}
			}
		})
	}
}

func TestClone(t *testing.T) {
	o, _ := Parse([]byte(`{"model":"a"}`))
	c := o.Clone(16)
	c.Edit("model", []byte(`"bbb"`))
	if string(o.Body) != `{"model":"a"}` || string(c.Body) != `{"model":"bbb"}` {
		t.Fatalf("original %s, clone %s", o.Body, c.Body)
	}
}
