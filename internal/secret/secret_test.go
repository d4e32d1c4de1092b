package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func newBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := NewBox(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBox(t, 1)
	const key = "sk-proj-abcdefghijklmnopqrstuvwxyz"
	sealed := b.Seal(key, "provider_key")
	if strings.Contains(sealed, key) || strings.Contains(sealed, "abcdefgh") {
		t.Fatalf("sealed value leaks plaintext: %s", sealed)
	}
	if again := b.Seal(key, "provider_key"); again == sealed {
		t.Fatal("two seals of the same value must differ (random nonce)")
	}
	got, err := b.Open(sealed, "provider_key")
	if err != nil || got != key {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRejects(t *testing.T) {
	b := newBox(t, 1)
	sealed := b.Seal("secret-value", "provider_key")
	tests := []struct {
		name    string
		box     *Box
		value   string
		purpose string
	}{
		{"other key", newBox(t, 2), sealed, "provider_key"},
		{"other purpose", b, sealed, "endpoint_header"},
		{"tampered", b, sealed[:len(sealed)-2] + "AA", "provider_key"},
		{"no version", b, strings.TrimPrefix(sealed, "v1:"), "provider_key"},
		{"garbage", b, "v1:!!!", "provider_key"},
		{"too short", b, "v1:AAAA", "provider_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.box.Open(tt.value, tt.purpose); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	if got := Mask("sk-ant-api03-verylongsecret-XYZW"); got != "sk-a…XYZW" {
		t.Fatalf("Mask = %q", got)
	}
	if got := Mask("short"); strings.Contains(got, "s") {
		t.Fatalf("Mask of a short secret leaks it: %q", got)
	}
}
