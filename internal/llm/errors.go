package llm

import (
	"errors"
	"net/http"
)

// ErrorClass names why an attempt or a request failed. Classes are bounded
// so they can be metric labels, and they decide failover (internal/upstream
// keeps the table that assigns them).
type ErrorClass string

// Error classes.
const (
	ErrNone            ErrorClass = ""
	ErrConnect         ErrorClass = "connect" // dial, TLS, reset before headers
	ErrTimeout         ErrorClass = "timeout" // no headers in time
	ErrFirstByte       ErrorClass = "first_byte_timeout"
	ErrRateLimited     ErrorClass = "rate_limited"     // 429
	ErrUpstreamServer  ErrorClass = "upstream_5xx"     // 5xx, 408
	ErrUpstreamAuth    ErrorClass = "upstream_auth"    // 401/403, or a 400 naming an invalid or expired provider key
	ErrUpstreamAccount ErrorClass = "upstream_account" // 402, or a 400 naming the key's account: billing, credit, region
	ErrHTMLPage        ErrorClass = "html_page"        // a proxy's error page, not the API
	ErrEmbedded        ErrorClass = "embedded_error"   // error object as first SSE event
	ErrClientRequest   ErrorClass = "client_request"   // the upstream says the request is bad
	ErrUpstreamOther   ErrorClass = "upstream_other"   // another unexpected status
	ErrStreamCut       ErrorClass = "stream_cut"       // the upstream connection broke after the first byte
	ErrClientCancelled ErrorClass = "client_cancelled" // 499
	ErrNoCandidate     ErrorClass = "no_candidate"
	ErrInterrupted     ErrorClass = "interrupted" // no final event before the deadline
	// ErrShutdown: the gateway cut the request at its shutdown drain
	// deadline; never counted against the provider key.
	ErrShutdown ErrorClass = "shutdown"
	// ErrUpstreamUnsupported: a 4xx whose body reads as this provider's
	// limitation (an unknown model, an unsupported parameter). It fails
	// over but is not held against the key: the text it is matched on can
	// be the client's own, quoted back.
	ErrUpstreamUnsupported ErrorClass = "upstream_unsupported"
)

// Classes of a stream that failed after its first byte reached the client
// without its connection breaking (docs/wire-formats.md).
const (
	// ErrUpstreamStreamError: the upstream reported an error inside the
	// stream after its first event.
	ErrUpstreamStreamError ErrorClass = "upstream_stream_error"
	// ErrStreamTruncated: the stream ended cleanly at the transport level
	// without its terminal event.
	ErrStreamTruncated ErrorClass = "stream_truncated"
)

// Sentinel errors of the gateway's own decisions, answered in each API
// format's error shape by the caller that meets them.
var (
	ErrUnauthorized = errors.New("invalid or missing API key")
	ErrForbidden    = errors.New("not allowed for this key")
	ErrModelUnknown = errors.New("model not found")
)

// ErrorKind is the gateway's own error category, rendered by each dialect
// in its API's error shape and by the admin API in its own. The kind alone
// decides the HTTP status (Status), so a call site cannot pair a kind with
// the wrong status.
type ErrorKind string

// Error kinds; the status of each is in kindStatus.
const (
	KindInvalidRequest   ErrorKind = "invalid_request"
	KindAuthentication   ErrorKind = "authentication"
	KindPermission       ErrorKind = "permission"
	KindNotFound         ErrorKind = "not_found"
	KindMethodNotAllowed ErrorKind = "method_not_allowed"
	KindRequestTimeout   ErrorKind = "request_timeout" // the request body did not arrive in time
	KindConflict         ErrorKind = "conflict"        // admin API: the name is taken
	KindTooLarge         ErrorKind = "too_large"
	KindRateLimit        ErrorKind = "rate_limit"
	KindInternal         ErrorKind = "internal"
	KindUpstream         ErrorKind = "upstream"
	KindUnavailable      ErrorKind = "unavailable"
	KindDisabled         ErrorKind = "disabled" // admin API: turned off by configuration
)

// kindStatus is the one table from error kind to HTTP status.
var kindStatus = map[ErrorKind]int{
	KindInvalidRequest:   http.StatusBadRequest,
	KindAuthentication:   http.StatusUnauthorized,
	KindPermission:       http.StatusForbidden,
	KindNotFound:         http.StatusNotFound,
	KindMethodNotAllowed: http.StatusMethodNotAllowed,
	KindRequestTimeout:   http.StatusRequestTimeout,
	KindConflict:         http.StatusConflict,
	KindTooLarge:         http.StatusRequestEntityTooLarge,
	KindRateLimit:        http.StatusTooManyRequests,
	KindInternal:         http.StatusInternalServerError,
	KindUpstream:         http.StatusBadGateway,
	KindUnavailable:      http.StatusServiceUnavailable,
	KindDisabled:         http.StatusForbidden,
}

// Kinds lists every error kind, for tests that check a table covers them all.
func Kinds() []ErrorKind {
	return []ErrorKind{
		KindInvalidRequest, KindAuthentication, KindPermission, KindNotFound,
		KindMethodNotAllowed, KindRequestTimeout, KindConflict, KindTooLarge,
		KindRateLimit, KindInternal, KindUpstream, KindUnavailable, KindDisabled,
	}
}

// Status is the HTTP status the gateway answers with for an error of this
// kind; 500 for a kind not in the table.
func (k ErrorKind) Status() int {
	if s, ok := kindStatus[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}
