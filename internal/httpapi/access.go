package httpapi

import (
	"cmp"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/llm"
)

// Observer counts responses and buffered body bytes; implemented by
// internal/metrics.
type Observer interface {
	Response(format string, status int, reason string)
	BodyBuffered(delta int64)
}

// Reasons a response was refused, the bounded label of the access line and
// of aether_responses_total. The proxy adds its own (unknown_model,
// forbidden, journal_unavailable, rate_limit, budget, limits_unavailable)
// and, for requests it served, the outcome's error class ("" is ok).
const (
	reasonOK               = "ok"
	reasonBadJSON          = "bad_json"
	reasonMissingModel     = "missing_model"
	reasonAuth             = "auth"
	reasonStarting         = "starting"
	reasonNotFound         = "not_found"
	reasonUnknownModel     = "unknown_model"
	reasonMethodNotAllowed = "method_not_allowed"
	reasonBadPath          = "bad_path"
	reasonTooLarge         = "too_large"
	reasonBodyTimeout      = "body_timeout"
	reasonBodyRead         = "body_read"
	reasonOverloaded       = "body_memory"
	reasonPanic            = "panic"
	reasonOther            = "other"
)

// exchange wraps the ResponseWriter of one request: it keeps the status and
// reason for the access line, and bounds the time the client has to send
// its body. One allocation per request; no context value.
type exchange struct {
	w        http.ResponseWriter
	status   int
	reason   string
	logged   bool // the proxy wrote the full access line itself
	keyID    int64
	body     io.ReadCloser
	hasBody  bool
	bodyDone bool // the body was read to its end
	deadline bool // a body read deadline is set on the connection
}

// access wraps every response. It writes one access line (request ID,
// status, reason) and counts the response, unless the proxy already logged
// the request in full. For a request with a body it sets a read deadline on
// the connection covering the whole body, AETHER_BODY_READ_TIMEOUT from the
// request's start, so a client that stalls or trickles its body is cut off
// (issue 8); the deadline is lifted as soon as the body has been read, so a
// long streamed answer is never affected. A refusal sent before the body
// was read closes the connection rather than wait for the rest of it.
func (s *Server) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		x := &exchange{w: w}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			x.hasBody = true
			if s.cfg.BodyReadTimeout > 0 && setReadDeadline(w, start.Add(s.cfg.BodyReadTimeout)) == nil {
				x.deadline = true
			}
			x.body = r.Body
			r.Body = (*exchangeBody)(x)
		}
		returned := false
		defer func() {
			if !returned && !x.logged {
				// A panic, answered 500 by the recoverer unless a
				// response had begun.
				x.status, x.reason = cmp.Or(x.status, http.StatusInternalServerError), reasonPanic
			}
			s.finish(x, r, start)
		}()
		next.ServeHTTP(x, r)
		returned = true
	})
}

// finish writes the access line and counts the response.
func (s *Server) finish(x *exchange, r *http.Request, start time.Time) {
	status := x.status
	if status == 0 {
		status = http.StatusOK
	}
	reason := x.reason
	switch {
	case reason == "" && status < 400:
		reason = reasonOK
	case reason == "":
		reason = reasonOther
	}
	format := routeFormat(r)
	if s.cfg.Observer != nil {
		s.cfg.Observer.Response(format, status, reason)
	}
	if x.logged || s.cfg.Log == nil {
		return
	}
	level := slog.LevelInfo
	if status < 400 && (format == "other" || r.Method == http.MethodHead) {
		level = slog.LevelDebug // health checks, scrapes and preconnects
	}
	route := "unmatched"
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	s.cfg.Log.LogAttrs(r.Context(), level, "request",
		slog.String("request_id", RequestID(r.Context())), slog.String("format", format),
		slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status_code", status), slog.String("reason", reason),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()), slog.Int64("api_key_id", x.keyID))
}

// routeFormat names the API a path belongs to, for the metric label.
func routeFormat(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v1/chat/completions" || p == "/v1/responses":
		return string(llm.FormatOpenAI)
	case strings.HasPrefix(p, "/v1/messages"):
		return string(llm.FormatAnthropic)
	case strings.HasPrefix(p, "/v1beta/"), strings.HasPrefix(p, "/v1/models/") && strings.Contains(p, ":"):
		return string(llm.FormatGemini)
	case strings.HasPrefix(p, "/v1/models"):
		return string(dialectFor(r).Format())
	case strings.HasPrefix(p, "/admin/"):
		return "admin"
	}
	return "other"
}

// note records why the response is what it is.
func note(w http.ResponseWriter, reason string) {
	if x, ok := w.(*exchange); ok {
		x.reason = reason
	}
}

// refuse answers an error in the route's API shape and notes its reason.
func refuse(w http.ResponseWriter, d llm.Dialect, kind llm.ErrorKind, reason, msg string) {
	note(w, reason)
	d.WriteError(w, kind, msg)
}

// NoteAccess lets the proxy give the reason of a refusal or failure, and
// say that it wrote the request's access line itself.
func (x *exchange) NoteAccess(reason string, logged bool) {
	x.reason, x.logged = reason, logged
}

func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 && code >= 200 {
		x.status = code
		if code >= 400 && x.hasBody && !x.bodyDone {
			// Do not wait for (or read) a body nobody will use: Go's
			// server would otherwise read up to 256 KiB of it, or wait
			// for it, before sending this answer.
			x.w.Header().Set("Connection", "close")
		}
	}
	x.w.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	return x.w.Write(b)
}

// FlushError lets http.ResponseController flush without unwrapping.
func (x *exchange) FlushError() error { return http.NewResponseController(x.w).Flush() }

// Unwrap gives http.ResponseController the server's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.w }

// exchangeBody is the request body as the handlers see it: it lifts the
// read deadline once the body has been read to its end. It is the exchange
// itself under another method set, so it costs no allocation.
type exchangeBody exchange

func (b *exchangeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF && !b.bodyDone {
		b.bodyDone = true
		if b.deadline {
			_ = setReadDeadline(b.w, time.Time{})
		}
	}
	return n, err
}

func (b *exchangeBody) Close() error { return b.body.Close() }

// readDeadliner is the method http.ResponseController uses to set a
// connection's read deadline; the server's own ResponseWriter has it.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// setReadDeadline is http.NewResponseController(w).SetReadDeadline without
// the controller's allocation, twice per request with a body; a writer
// without the method falls back to the controller.
func setReadDeadline(w http.ResponseWriter, t time.Time) error {
	if d, ok := w.(readDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return http.NewResponseController(w).SetReadDeadline(t)
}
