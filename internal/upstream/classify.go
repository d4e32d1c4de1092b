package upstream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"aether/internal/llm"
)

// This file is the one table deciding what an upstream error means: fail
// over to the next candidate, or hand the error to the client because the
// request itself is at fault.

// keyFaults are 400 answers that blame the provider key or the account
// behind it, although the status looks like the client's fault. They are
// matched on fields the provider fills in itself (a Gemini status or
// ErrorInfo reason, the start of the message), never on free text
// anywhere in the body, because error messages often quote the request: a
// client must not be able to make its own bad request look like a key
// fault and open the breakers. Real bodies are in testdata/ and
// docs/wire-formats.md.
var keyFaults = []struct {
	status, reason, messagePrefix string
	class                         llm.ErrorClass
}{
	// Gemini: an invalid, expired or unknown key ("API key not valid. ...",
	// "API key expired. ..."), 400 INVALID_ARGUMENT with this reason.
	{reason: "API_KEY_INVALID", class: llm.ErrUpstreamAuth},
	// Gemini: a project prerequisite is missing, such as billing, or the
	// free tier or the API is not offered where the gateway runs.
	{status: "FAILED_PRECONDITION", class: llm.ErrUpstreamAccount},
	// Anthropic, 400 invalid_request_error.
	{messagePrefix: "Your credit balance is too low", class: llm.ErrUpstreamAccount},
	{messagePrefix: "This organization has been disabled", class: llm.ErrUpstreamAccount},
}

// providerError is the error object of every supported format:
// {"error":{"message","type","code"}} (OpenAI),
// {"type":"error","error":{"type","message"}} (Anthropic),
// {"error":{"code","message","status","details":[{"reason"}]}} (Gemini).
type providerError struct {
	Error struct {
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

// keyFault returns the class of a 400 body that names a provider-key
// fault, or ErrNone.
func keyFault(body []byte) llm.ErrorClass {
	body = bytes.TrimSpace(body)
	var e providerError
	switch {
	case len(body) > 0 && body[0] == '[':
		// Gemini's streamGenerateContent without alt=sse wraps its
		// error in a JSON array.
		var arr []providerError
		if json.Unmarshal(body, &arr) != nil || len(arr) == 0 {
			return llm.ErrNone
		}
		e = arr[0]
	case json.Unmarshal(body, &e) != nil:
		return llm.ErrNone
	}
	for _, f := range keyFaults {
		switch {
		case f.status != "" && e.Error.Status == f.status:
			return f.class
		case f.messagePrefix != "" && hasPrefixFold(e.Error.Message, f.messagePrefix):
			return f.class
		case f.reason != "":
			for _, d := range e.Error.Details {
				if d.Reason == f.reason {
					return f.class
				}
			}
		}
	}
	return llm.ErrNone
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// clientErrorPatterns mark a 4xx body as the client's fault: retrying the
// same request elsewhere would fail the same way, so it is returned
// unchanged and never counted against the provider key.
var clientErrorPatterns = [][]byte{
	[]byte("context_length_exceeded"),
	[]byte("prompt is too long"),
	[]byte("maximum context length"),
	[]byte("too many tokens"),
	[]byte("content_policy"),
	[]byte("content_filter"),
	[]byte("safety"),
	[]byte("invalid_argument"),
	[]byte("failed_precondition"),
	[]byte("invalid_request_error"),
	[]byte("validation_error"),
	[]byte("bad_request"),
	[]byte("image too large"),
	[]byte("tool_use_id"),
}

// compatibilityPatterns mark a 4xx body as this provider's limitation
// (an unsupported model or parameter): another provider may well accept the
// same request, so these fail over even though they look like client errors.
var compatibilityPatterns = [][]byte{
	[]byte("model_not_found"),
	[]byte("does not exist"),
	[]byte("not supported with this model"),
	[]byte("model does not support"),
	[]byte("unsupported model"),
	[]byte("unsupported parameter"),
	[]byte("is not supported"),
	[]byte("not available for this model"),
	[]byte("no such model"),
}

// ClassifyStatus assigns an error class to a non-2xx upstream response from
// its status and (bounded) body.
func ClassifyStatus(status int, body []byte) llm.ErrorClass {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return llm.ErrUpstreamAuth // a bad provider key is not the client's fault
	case status == http.StatusPaymentRequired:
		return llm.ErrUpstreamAccount // Anthropic billing_error, Gemini prepay credit used up
	case status == http.StatusTooManyRequests:
		return llm.ErrRateLimited
	case status == http.StatusRequestTimeout || status >= 500:
		return llm.ErrUpstreamServer
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		if status == http.StatusBadRequest {
			if class := keyFault(body); class != llm.ErrNone {
				return class
			}
		}
		lower := bytes.ToLower(body)
		for _, p := range compatibilityPatterns {
			if bytes.Contains(lower, p) {
				return llm.ErrUpstreamOther
			}
		}
		for _, p := range clientErrorPatterns {
			if bytes.Contains(lower, p) {
				return llm.ErrClientRequest
			}
		}
		if status == http.StatusRequestEntityTooLarge {
			return llm.ErrClientRequest
		}
		return llm.ErrUpstreamOther
	}
	return llm.ErrUpstreamOther // 404 (model unknown there), ...
}

// FailsOver reports whether an attempt that failed with class should move
// on to the next candidate. Only client errors and client cancels stop the
// loop.
func FailsOver(class llm.ErrorClass) bool {
	return class != llm.ErrClientRequest && class != llm.ErrClientCancelled
}

// CountsAgainstKey reports whether class is evidence that the provider key
// is unhealthy (the circuit breaker counts it).
func CountsAgainstKey(class llm.ErrorClass) bool {
	return class != llm.ErrClientRequest && class != llm.ErrClientCancelled && class != llm.ErrNone
}

// LooksLikeHTML reports whether a body that should be an API response is an
// HTML page (a load balancer's or CDN's error page).
func LooksLikeHTML(contentType string, head []byte) bool {
	if bytes.HasPrefix([]byte(contentType), []byte("text/html")) {
		return true
	}
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 15 {
		head = head[:15]
	}
	lower := bytes.ToLower(head)
	return bytes.HasPrefix(lower, []byte("<!doctype")) || bytes.HasPrefix(lower, []byte("<html"))
}
