package anthropic

import (
	"encoding/json"
	"net/http"

	"aether/internal/llm"
)

var kinds = map[llm.ErrorKind]string{
	llm.KindInvalidRequest: "invalid_request_error",
	llm.KindAuthentication: "authentication_error",
	llm.KindPermission:     "permission_error",
	llm.KindNotFound:       "not_found_error",
	llm.KindTooLarge:       "request_too_large",
	llm.KindRateLimit:      "rate_limit_error",
	llm.KindUnavailable:    "overloaded_error",
	llm.KindUpstream:       "api_error",
	llm.KindInternal:       "api_error",
}

// WriteError implements llm.Dialect: {"type":"error","error":{"type","message"}}.
func (Dialect) WriteError(w http.ResponseWriter, status int, kind llm.ErrorKind, message string) {
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
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
