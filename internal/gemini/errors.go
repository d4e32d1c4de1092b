package gemini

import (
	"encoding/json"
	"net/http"

	"aether/internal/llm"
)

// kinds gives each error kind its Gemini (gRPC) status name; the HTTP
// status is the kind's own (llm.ErrorKind.Status).
var kinds = map[llm.ErrorKind]string{
	llm.KindInvalidRequest:   "INVALID_ARGUMENT",
	llm.KindAuthentication:   "UNAUTHENTICATED",
	llm.KindPermission:       "PERMISSION_DENIED",
	llm.KindNotFound:         "NOT_FOUND",
	llm.KindMethodNotAllowed: "INVALID_ARGUMENT",
	llm.KindRequestTimeout:   "INVALID_ARGUMENT",
	llm.KindConflict:         "ALREADY_EXISTS",
	llm.KindTooLarge:         "INVALID_ARGUMENT",
	llm.KindRateLimit:        "RESOURCE_EXHAUSTED",
	llm.KindInternal:         "INTERNAL",
	llm.KindUpstream:         "UNAVAILABLE",
	llm.KindUnavailable:      "UNAVAILABLE",
	llm.KindDisabled:         "PERMISSION_DENIED",
}

// WriteError implements llm.Dialect: {"error":{"code","message","status"}}.
func (Dialect) WriteError(w http.ResponseWriter, kind llm.ErrorKind, message string) {
	status := kind.Status()
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message, "status": kinds[kind]}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
