package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"aether/internal/catalog"
	"aether/internal/llm"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
	keyCorrelationID
)

// RequestID returns the request's ID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// CorrelationID returns the client's own X-Request-ID, when it was kept.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(keyCorrelationID).(string)
	return id
}

// CallerFrom returns the authenticated caller.
func CallerFrom(ctx context.Context) *catalog.Caller {
	c, _ := ctx.Value(keyCaller).(*catalog.Caller)
	return c
}

// correlationToken is what a client-supplied X-Request-ID must look like
// to be kept: a short safe token, so it can go into a log line, a response
// header, a database column and a search attribute as it is. Anything else
// is dropped.
var correlationToken = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// requestID gives every request an ID the gateway makes (a UUIDv7), which
// names its record and its workflow, and answers it in X-Request-ID. The
// ID is never taken from the client: a client could otherwise send back an
// ID already in use and have its request recorded over another, or not at
// all (issue 8). A client's own X-Request-ID is kept as the correlation ID:
// stored with the record, searchable, and answered in X-Correlation-ID so
// the client sees it was kept.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newID()
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		if c := r.Header.Get("X-Request-ID"); correlationToken.MatchString(c) {
			w.Header().Set("X-Correlation-ID", c)
			ctx = context.WithValue(ctx, keyCorrelationID, c)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func newID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}

// gatewayKey finds the caller's key wherever its SDK puts it.
func gatewayKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

// auth authenticates against the in-memory snapshot and answers failures in
// the route's API format.
func (s *Server) auth(d llm.Dialect) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			snap := s.catalog()
			if snap == nil {
				refuse(w, d, llm.KindUnavailable, reasonStarting, "The gateway is starting.")
				return
			}
			key := gatewayKey(r)
			if key == "" {
				refuse(w, d, llm.KindAuthentication, reasonAuth, "Missing API key: send it as Authorization: Bearer, x-api-key, x-goog-api-key or ?key=.")
				return
			}
			caller, err := snap.Authenticate(key, s.now())
			if err != nil {
				refuse(w, d, llm.KindAuthentication, reasonAuth, "Invalid API key.")
				return
			}
			if x, ok := w.(*exchange); ok {
				x.keyID = caller.Key.ID
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCaller, caller)))
		})
	}
}

// modelsAuth authenticates GET /v1/models in the shape the caller's SDK
// expects, which only its headers tell.
func (s *Server) modelsAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.auth(dialectFor(r))(next).ServeHTTP(w, r)
	})
}

// dialectFor guesses the caller's API from its headers, for answers on
// routes shared by several APIs.
func dialectFor(r *http.Request) llm.Dialect {
	switch {
	case r.Header.Get("Anthropic-Version") != "":
		return dAnthropic
	case strings.HasPrefix(r.URL.Path, "/v1beta/") || r.Header.Get("X-Goog-Api-Key") != "" || r.URL.Query().Has("key"):
		return dGemini
	}
	return dOpenAI
}
