// Package anthropic is Aether's edge for the Anthropic Messages API: auth
// header, error shape, stream inspection and usage.
package anthropic

import (
	"net/http"

	"aether/internal/llm"
)

// Dialect implements llm.Dialect for Anthropic.
type Dialect struct{}

// Format implements llm.Dialect.
func (Dialect) Format() llm.Format { return llm.FormatAnthropic }

// SetAuth implements llm.Dialect: Anthropic's own API takes x-api-key.
func (Dialect) SetAuth(h http.Header, key string) { h.Set("x-api-key", key) }
