package upstream

import "testing"

// TestStripKeyParam: the gateway key goes under any encoding of its name;
// everything else is kept byte for byte, in order.
func TestStripKeyParam(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"alt=sse":                    "alt=sse",
		"beta=true&alt=sse":          "beta=true&alt=sse",
		"key=sk-1&alt=sse":           "alt=sse",
		"alt=sse&%6Bey=sk-1":         "alt=sse",
		"%6b%65%79=sk-1&x=%2F&b=a+b": "x=%2F&b=a+b",
		"k%65y=sk-1":                 "",
		"a=1;key=sk-1&z=2":           "z=2",
		"monkey=1&keys=2&key_id=3":   "monkey=1&keys=2&key_id=3",
		"alt=sse&key":                "alt=sse",
		"%zz=1&key=sk-1":             "%zz=1",
	} {
		if got := StripKeyParam(in); got != want {
			t.Errorf("StripKeyParam(%q) = %q, want %q", in, got, want)
		}
	}
}
