package fakeupstream

import (
	"net/http"
	"strconv"
)

// Error bodies follow each provider's documented shape:
//
//	OpenAI:    {"error":{"message":"…","type":"…","param":null,"code":"…"|null}}
//	Anthropic: {"type":"error","error":{"type":"…","message":"…"}}
//	Gemini:    {"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}
//
// Knobs.ErrorType replaces the OpenAI and Anthropic "type" or the Gemini
// "status"; otherwise the tables below derive it from the status code.

// openAIErrorType returns the type and code (empty for null) OpenAI sends
// with status.
func openAIErrorType(status int) (typ, code string) {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key"
	case status == http.StatusForbidden:
		return "permission_error", ""
	case status == http.StatusNotFound:
		return "invalid_request_error", ""
	case status == http.StatusTooManyRequests:
		return "requests", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", ""
	default:
		return "invalid_request_error", ""
	}
}

// anthropicErrorType follows https://docs.anthropic.com/en/api/errors.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// geminiErrorStatus maps an HTTP status to the google.rpc.Code name Gemini
// reports.
func geminiErrorStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "INVALID_ARGUMENT"
}

var missingKeyMessage = [...]string{
	formatOpenAI:    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
	formatAnthropic: "x-api-key header is required",
	formatGemini:    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
}

// appendErrorObject appends the format's error body for status; typ ""
// means the type derived from status.
func (x *exchange) appendErrorObject(b []byte, status int, typ, msg string) []byte {
	switch x.format {
	case formatAnthropic:
		if typ == "" {
			typ = anthropicErrorType(status)
		}
		b = append(b, `{"type":"error","error":{"type":`...)
		b = appendJSONString(b, typ)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, msg)
		return append(b, "}}"...)
	case formatGemini:
		if typ == "" {
			typ = geminiErrorStatus(status)
		}
		b = append(b, `{"error":{"code":`...)
		b = appendInt(b, status)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, msg)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, typ)
		return append(b, "}}"...)
	default:
		b = append(b, `{"error":`...)
		b = x.appendOpenAIError(b, status, typ, msg)
		return append(b, '}')
	}
}

// appendOpenAIError appends the inner OpenAI error object.
func (x *exchange) appendOpenAIError(b []byte, status int, typ, msg string) []byte {
	defType, code := openAIErrorType(status)
	if typ == "" {
		typ = defType
	}
	b = append(b, `{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if code == "" {
		return append(b, "null}"...)
	}
	b = appendJSONString(b, code)
	return append(b, '}')
}

// writeError answers a request the fake rejects itself (unknown route, no
// key, bad knob header); knobs do not apply.
func (x *exchange) writeError(status int, typ, msg string) {
	x.buf = x.appendErrorObject(x.buf[:0], status, typ, msg)
	h := x.w.Header()
	h["Content-Type"] = ctJSON
	x.w.WriteHeader(status)
	_, _ = x.w.Write(x.buf)
}

// writeErrorBody answers with an injected error: httpStatus on the wire,
// typeStatus choosing the error type (they differ for EmbeddedError on a
// non-streamed request, which is 200 with an error body).
func (x *exchange) writeErrorBody(httpStatus, typeStatus int) {
	if x.p.errorBody != "" {
		x.buf = append(x.buf[:0], x.p.errorBody...)
	} else {
		x.buf = x.appendErrorObject(x.buf[:0], typeStatus, x.p.errorType, x.errorMessage(typeStatus))
	}
	x.begin(httpStatus, ctJSON)
	_, _ = x.out.Write(x.buf)
	x.endStream()
}

func (x *exchange) errorMessage(status int) string {
	if x.p.errorMessage != "" {
		return x.p.errorMessage
	}
	return "fakeupstream: injected error (status " + strconv.Itoa(status) + ")"
}

// embeddedStatus is the status whose error type an embedded error carries:
// Status if set, else 529 overloaded_error for Anthropic (the usual
// mid-stream failure there) and 500 for the others.
func (x *exchange) embeddedStatus() int {
	switch {
	case x.p.status >= 400:
		return x.p.status
	case x.format == formatAnthropic:
		return 529
	default:
		return http.StatusInternalServerError
	}
}
