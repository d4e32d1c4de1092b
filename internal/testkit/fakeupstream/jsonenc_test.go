package fakeupstream

import (
	"encoding/json"
	"testing"
)

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "nl\n\r\t", "\x00\x1f\x7f", "wörld ✓ 😀", "\xff\xfe bad", "\u2028\u2029", "</script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded to invalid JSON %s: %v", s, b, err)
		}
		// Ranging over a string turns each invalid byte into U+FFFD, as
		// the encoder must.
		if want := string([]rune(s)); got != want {
			t.Fatalf("round trip %q -> %s -> %q", s, b, got)
		}
	})
}
