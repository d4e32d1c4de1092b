// Package secret encrypts provider credentials at rest with AES-256-GCM under
// AETHER_ENCRYPTION_KEY, so a database dump alone never yields a usable key.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// version prefixes every sealed value so the format can change later
// without guessing what an old row holds.
const version = "v1:"

// ErrDecrypt reports a value that was not sealed under this key or was
// tampered with; the usual cause is a changed AETHER_ENCRYPTION_KEY.
var ErrDecrypt = errors.New("secret: cannot decrypt (wrong AETHER_ENCRYPTION_KEY or corrupted value)")

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext with a fresh random nonce. purpose is bound as
// additional data, so a value sealed for one use cannot be swapped into
// another column.
func (b *Box) Seal(plaintext, purpose string) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: crypto/rand failed: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(purpose))
	return version + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value produced by Seal with the same purpose.
func (b *Box) Open(sealed, purpose string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return "", ErrDecrypt
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize()+b.aead.Overhead() {
		return "", ErrDecrypt
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(purpose))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}

// Mask returns a preview of a secret safe to show: its first four and last
// four characters, or only asterisks when it is too short to hide anything.
func Mask(s string) string {
	if len(s) <= 12 {
		return strings.Repeat("*", 8)
	}
	return s[:4] + "…" + s[len(s)-4:]
}
