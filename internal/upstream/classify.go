package upstream

import (
	"bytes"
	"net/http"

	"aether/internal/core"
)

// This file is the one table deciding what an upstream error means
// (STYLE.md rule 12): fail over to the next candidate, or hand the error to
// the client because the request itself is at fault.

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
func ClassifyStatus(status int, body []byte) core.ErrorClass {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return core.ErrUpstreamAuth // a bad provider key is not the client's fault
	case status == http.StatusTooManyRequests:
		return core.ErrRateLimited
	case status == http.StatusRequestTimeout || status >= 500:
		return core.ErrUpstreamServer
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		lower := bytes.ToLower(body)
		for _, p := range compatibilityPatterns {
			if bytes.Contains(lower, p) {
				return core.ErrUpstreamOther
			}
		}
		for _, p := range clientErrorPatterns {
			if bytes.Contains(lower, p) {
				return core.ErrClientRequest
			}
		}
		if status == http.StatusRequestEntityTooLarge {
			return core.ErrClientRequest
		}
		return core.ErrUpstreamOther
	}
	return core.ErrUpstreamOther // 404 (model unknown there), 402 (billing), ...
}

// FailsOver reports whether an attempt that failed with class should move
// on to the next candidate. Only client errors and client cancels stop the
// loop.
func FailsOver(class core.ErrorClass) bool {
	return class != core.ErrClientRequest && class != core.ErrClientCancelled
}

// CountsAgainstKey reports whether class is evidence that the provider key
// is unhealthy (the circuit breaker counts it).
func CountsAgainstKey(class core.ErrorClass) bool {
	return class != core.ErrClientRequest && class != core.ErrClientCancelled && class != core.ErrNone
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
