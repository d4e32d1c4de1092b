package upstream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"aether/internal/breaker"
	"aether/internal/llm"
)

// This file is the one table deciding what an upstream outcome means: its
// class (ClassifyResponse, ClassifyStatus), and what that class means for
// the request and the provider key (Judge): fail over to the next
// candidate or not, count against the key's breaker or not, move the
// caller's affinity off the key or not.

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
// They are matched on free text anywhere in the body, which may quote the
// client's request, so the class they give (upstream_unsupported) is never
// held against the key: a client must not be able to open the breakers with
// its own bad requests.
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
				return llm.ErrUpstreamUnsupported
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

// ClassifyResponse assigns an error class to a non-2xx upstream response:
// an HTML page (a load balancer's or CDN's, not the API's) whatever its
// status, else by status and (bounded) body.
func ClassifyResponse(status int, contentType string, body []byte) llm.ErrorClass {
	if LooksLikeHTML(contentType, body) {
		return llm.ErrHTMLPage
	}
	return ClassifyStatus(status, body)
}

// Verdict is what one attempt's outcome means for the request and for the
// provider key that served it.
type Verdict struct {
	// Outcome is the attempt as recorded: llm.OutcomeSuccess,
	// OutcomeFailed, OutcomeCancelled or OutcomeClientError.
	Outcome string
	// FailOver: the request moves on to the next candidate. Never after
	// the commit point, when the client already has bytes.
	FailOver bool
	// Breaker is what the key's circuit breaker counts.
	Breaker breaker.Outcome
	// MoveAffinity: the caller's affinity leaves this key. (On a success
	// it sticks to the key; otherwise it stays as it was.)
	MoveAffinity bool
}

// Stop is what the proxy knows of an attempt that ended without an
// upstream answer to classify: before the commit point a transport error or
// an expired wait, after it the way the relayed answer ended. The proxy
// gathers the facts; ClassifyStop names the class.
type Stop struct {
	// Committed: bytes reached the client.
	Committed bool
	// Stream: the answer is a stream (SSE or a JSON array).
	Stream bool
	// WaitExpired: before the commit point, the wait for headers (or a
	// stream's first event) passed.
	WaitExpired bool
	// Shutdown: the server cut the request at its drain deadline.
	Shutdown bool
	// Ended: the request's context ended; Deadline: because the request's
	// own deadline passed.
	Ended, Deadline bool
	// ClientGone: a write to the client failed.
	ClientGone bool
	// StreamFailed: the upstream reported an error inside the stream.
	StreamFailed bool
	// Complete: the stream's terminal event, or the whole body, reached
	// the client.
	Complete bool
	// CleanEnd: the upstream closed the body cleanly (EOF, not a cut).
	CleanEnd bool
}

// ClassifyStop names the class of an attempt that stopped (llm.ErrNone: it
// completed).
//
// Before the commit point: an expired wait is first_byte_timeout for a
// stream and timeout otherwise; then the server's shutdown, the request's
// deadline (timeout) and the client's cancel; anything else is a
// connection failure.
//
// After it: an error the upstream reported in the stream, then a complete
// answer (whatever follows it), then a stream that closed cleanly without
// its terminal event (stream_truncated); then the server's shutdown (checked
// before the client, because closing connections at shutdown also fails
// writes), the client going away, a clean end (completed), and otherwise a
// cut (stream_cut).
func ClassifyStop(s Stop) llm.ErrorClass {
	if !s.Committed {
		switch {
		case s.WaitExpired && s.Stream:
			return llm.ErrFirstByte
		case s.WaitExpired:
			return llm.ErrTimeout
		case s.Ended && s.Shutdown:
			return llm.ErrShutdown
		case s.Ended && s.Deadline:
			return llm.ErrTimeout
		case s.Ended:
			return llm.ErrClientCancelled
		}
		return llm.ErrConnect
	}
	switch {
	case s.StreamFailed:
		return llm.ErrUpstreamStreamError
	case s.Complete:
		return llm.ErrNone
	case s.Stream && s.CleanEnd && !s.ClientGone && !s.Ended:
		return llm.ErrStreamTruncated
	case s.Shutdown:
		return llm.ErrShutdown
	case s.ClientGone || s.Ended && !s.Deadline:
		return llm.ErrClientCancelled
	case s.CleanEnd:
		return llm.ErrNone
	}
	return llm.ErrStreamCut
}

// Judge gives the verdict on an attempt that ended with class (llm.ErrNone
// for a success); committed is true once bytes reached the client.
//
//   - A success counts for the key.
//   - The client's own doing (a bad request, a cancel) and the gateway's
//     shutdown say nothing about the key: ignored.
//   - After the commit point there is no failover. A cut connection is
//     ignored (the key did answer), but a stream the upstream reported as
//     failed (upstream_stream_error) or ended without its terminal event
//     (stream_truncated) counts against the key.
//   - upstream_unsupported fails over and moves affinity, but is ignored
//     by the breaker: its evidence is free text the client may have written.
//   - Everything else before the commit point fails over and counts.
func Judge(class llm.ErrorClass, committed bool) Verdict {
	v := Verdict{FailOver: !committed && failsOver(class)}
	switch {
	case class == llm.ErrNone:
		v.Outcome, v.Breaker = llm.OutcomeSuccess, breaker.Success
	case class == llm.ErrClientCancelled || class == llm.ErrShutdown:
		v.Outcome, v.Breaker = llm.OutcomeCancelled, breaker.Ignored
	case class == llm.ErrClientRequest:
		v.Outcome, v.Breaker = llm.OutcomeClientError, breaker.Ignored
	case committed && class != llm.ErrUpstreamStreamError && class != llm.ErrStreamTruncated:
		v.Outcome, v.Breaker = llm.OutcomeFailed, breaker.Ignored
	case class == llm.ErrUpstreamUnsupported:
		v.Outcome, v.Breaker, v.MoveAffinity = llm.OutcomeFailed, breaker.Ignored, true
	default:
		v.Outcome, v.Breaker, v.MoveAffinity = llm.OutcomeFailed, breaker.Failure, true
	}
	return v
}

// failsOver reports whether an attempt that failed before the commit point
// with class should move on to the next candidate. Only a success, a
// client error and a client cancel stop the loop (a shutdown stops it
// through the request's context).
func failsOver(class llm.ErrorClass) bool {
	return class != llm.ErrNone && class != llm.ErrClientRequest && class != llm.ErrClientCancelled
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
