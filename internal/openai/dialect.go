// Package openai is Aether's edge for the OpenAI API (Chat Completions and
// Responses): auth header, error shape, stream inspection and usage.
package openai

import (
	"net/http"

	"aether/internal/llm"
)

// Dialect implements llm.Dialect for OpenAI.
type Dialect struct{}

// Format implements llm.Dialect.
func (Dialect) Format() llm.Format { return llm.FormatOpenAI }

// SetAuth implements llm.Dialect.
func (Dialect) SetAuth(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }
