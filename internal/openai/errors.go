package openai

import (
	"encoding/json"
	"net/http"

	"aether/internal/llm"
)

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// kinds gives each error kind its OpenAI type and code; the status is the
// kind's own (llm.ErrorKind.Status).
var kinds = map[llm.ErrorKind][2]string{ // type, code
	llm.KindInvalidRequest:   {"invalid_request_error", ""},
	llm.KindAuthentication:   {"invalid_request_error", "invalid_api_key"},
	llm.KindPermission:       {"invalid_request_error", "permission_denied"},
	llm.KindNotFound:         {"invalid_request_error", "model_not_found"},
	llm.KindMethodNotAllowed: {"invalid_request_error", ""},
	llm.KindRequestTimeout:   {"invalid_request_error", ""},
	llm.KindConflict:         {"invalid_request_error", ""},
	llm.KindTooLarge:         {"invalid_request_error", "request_too_large"},
	llm.KindRateLimit:        {"rate_limit_exceeded", "rate_limit_exceeded"},
	llm.KindInternal:         {"server_error", ""},
	llm.KindUpstream:         {"server_error", "bad_gateway"},
	llm.KindUnavailable:      {"server_error", "service_unavailable"},
	llm.KindDisabled:         {"invalid_request_error", "permission_denied"},
}

// WriteError implements llm.Dialect: {"error":{"message","type","param","code"}}.
func (Dialect) WriteError(w http.ResponseWriter, kind llm.ErrorKind, message string) {
	k := kinds[kind]
	obj := errorObject{Message: message, Type: k[0]}
	if k[1] != "" {
		obj.Code = &k[1]
	}
	writeJSON(w, kind.Status(), errorBody{Error: obj})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
