package gemini

import (
	"encoding/json"
	"net/http"

	"aether/internal/llm"
)

var kinds = map[llm.ErrorKind]string{
	llm.KindInvalidRequest: "INVALID_ARGUMENT",
	llm.KindAuthentication: "UNAUTHENTICATED",
	llm.KindPermission:     "PERMISSION_DENIED",
	llm.KindNotFound:       "NOT_FOUND",
	llm.KindTooLarge:       "INVALID_ARGUMENT",
	llm.KindRateLimit:      "RESOURCE_EXHAUSTED",
	llm.KindUnavailable:    "UNAVAILABLE",
	llm.KindUpstream:       "UNAVAILABLE",
	llm.KindInternal:       "INTERNAL",
}

// WriteError implements llm.Dialect: {"error":{"code","message","status"}}.
func (Dialect) WriteError(w http.ResponseWriter, status int, kind llm.ErrorKind, message string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message, "status": kinds[kind]}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
