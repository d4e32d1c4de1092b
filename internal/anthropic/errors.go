package anthropic

import (
	"encoding/json"
	"net/http"

	"aether/internal/llm"
)

// kinds gives each error kind its Anthropic error type; the status is the
// kind's own (llm.ErrorKind.Status).
var kinds = map[llm.ErrorKind]string{
	llm.KindInvalidRequest:   "invalid_request_error",
	llm.KindAuthentication:   "authentication_error",
	llm.KindPermission:       "permission_error",
	llm.KindNotFound:         "not_found_error",
	llm.KindMethodNotAllowed: "invalid_request_error",
	llm.KindRequestTimeout:   "invalid_request_error",
	llm.KindConflict:         "invalid_request_error",
	llm.KindTooLarge:         "request_too_large",
	llm.KindRateLimit:        "rate_limit_error",
	llm.KindInternal:         "api_error",
	llm.KindUpstream:         "api_error",
	llm.KindUnavailable:      "overloaded_error",
	llm.KindDisabled:         "permission_error",
}

// WriteError implements llm.Dialect: {"type":"error","error":{"type","message"}}.
func (Dialect) WriteError(w http.ResponseWriter, kind llm.ErrorKind, message string) {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}{Type: "error", Error: struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}{kinds[kind], message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(kind.Status())
	_, _ = w.Write(b)
}
