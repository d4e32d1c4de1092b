// Package gemini is Aether's edge for the Gemini API (generateContent,
// streamGenerateContent, countTokens): auth header, error shape, stream
// inspection and usage.
package gemini

import (
	"net/http"

	"aether/internal/llm"
)

// Dialect implements llm.Dialect for Gemini.
type Dialect struct{}

// Format implements llm.Dialect.
func (Dialect) Format() llm.Format { return llm.FormatGemini }

// SetAuth implements llm.Dialect.
func (Dialect) SetAuth(h http.Header, key string) { h.Set("x-goog-api-key", key) }
