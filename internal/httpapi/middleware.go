package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/google/uuid"

	"aether/internal/catalog"
	"aether/internal/core"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
)

// RequestID returns the request's ID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// CallerFrom returns the authenticated caller.
func CallerFrom(ctx context.Context) *catalog.Caller {
	c, _ := ctx.Value(keyCaller).(*catalog.Caller)
	return c
}

// safeID is what a client-supplied X-Request-ID must look like to be used
// as the request (and workflow) ID.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$`)

// requestIDs remembers recent client-supplied IDs: a client reusing one
// must not overwrite the record of an earlier request.
type requestIDs struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newRequestIDs(n int) *requestIDs {
	return &requestIDs{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// claim reports whether id was not used recently, and remembers it.
func (r *requestIDs) claim(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.seen[id]; dup {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.seen, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.seen[id] = struct{}{}
	return true
}

// requestID assigns the request ID, echoes it in X-Request-ID on every
// response, and keeps it in the context.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !safeID.MatchString(id) || !s.ids.claim(id) {
			id = newID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
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
func (s *Server) auth(d core.Dialect) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			snap := s.catalog()
			if snap == nil {
				d.WriteError(w, http.StatusServiceUnavailable, core.KindUnavailable, "The gateway is starting.")
				return
			}
			key := gatewayKey(r)
			if key == "" {
				d.WriteError(w, http.StatusUnauthorized, core.KindAuthentication, "Missing API key: send it as Authorization: Bearer, x-api-key, x-goog-api-key or ?key=.")
				return
			}
			caller, err := snap.Authenticate(key, s.now())
			if err != nil {
				d.WriteError(w, http.StatusUnauthorized, core.KindAuthentication, "Invalid API key.")
				return
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
func dialectFor(r *http.Request) core.Dialect {
	switch {
	case r.Header.Get("Anthropic-Version") != "":
		return dAnthropic
	case strings.HasPrefix(r.URL.Path, "/v1beta/") || r.Header.Get("X-Goog-Api-Key") != "" || r.URL.Query().Has("key"):
		return dGemini
	}
	return dOpenAI
}

// ConstantTimeEqual compares two secrets without leaking where they differ.
func ConstantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
