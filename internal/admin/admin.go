// Package admin is the admin API (/admin/v1): configuration (providers with
// their endpoints and keys, models, prices, users, gateway keys), request
// history, breakers and the configuration export. routes.go declares every
// route; each resource has its own file. Writes go through the same code
// that applies the configuration file (internal/seed), and every answer,
// error or not, is JSON; errors take their status from their kind
// (llm.ErrorKind.Status), as the client APIs' errors do.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"aether/internal/breaker"
	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
)

// Config configures the admin API. internal/httpapi mounts it only when
// Token is set.
type Config struct {
	Token         string
	Store         *store.Store
	Breakers      *breaker.Set
	TemporalUIURL string
	Namespace     string
	// Refresh reloads this replica's snapshot after a change, so the
	// replica that took the change serves it at once (others within
	// AETHER_SNAPSHOT_REFRESH).
	Refresh func(context.Context) error
}

// API serves the admin routes.
type API struct{ cfg Config }

// New returns the admin API.
func New(cfg Config) *API { return &API{cfg: cfg} }

// errorBody is the admin API's error shape. Its type is an llm.ErrorKind
// and its status that kind's (llm.ErrorKind.Status), as in the client APIs.
type errorBody struct {
	Error struct {
		Type    llm.ErrorKind     `json:"type"`
		Message string            `json:"message"`
		Fields  []seed.FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

// fail answers an error: its type is kind, its status kind's.
func fail(w http.ResponseWriter, kind llm.ErrorKind, msg string, fields ...seed.FieldError) {
	if kind == llm.KindAuthentication {
		noteAccess(w, "auth") // the reason the client APIs' refusals give
	} else {
		noteAccess(w, string(kind)) // a fixed word: invalid_request, conflict, not_found, internal, disabled
	}
	var e errorBody
	e.Error.Type, e.Error.Message, e.Error.Fields = kind, msg, fields
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(kind.Status())
	_ = json.NewEncoder(w).Encode(e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
			fail(w, llm.KindAuthentication, "Missing admin token: send Authorization: Bearer $AETHER_ADMIN_TOKEN.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[7:])), []byte(a.cfg.Token)) != 1 {
			fail(w, llm.KindAuthentication, "Invalid admin token.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Disabled answers every admin path when the admin API is off.
func Disabled(w http.ResponseWriter, _ *http.Request) {
	fail(w, llm.KindDisabled, "The admin API is off: set AETHER_ADMIN_TOKEN to turn it on.")
}

// noteAccess gives the HTTP layer's access line and response counter the
// reason of an error, when w is the HTTP layer's response writer.
func noteAccess(w http.ResponseWriter, reason string) {
	if n, ok := w.(interface {
		NoteAccess(reason string, logged bool)
	}); ok {
		n.NoteAccess(reason, false)
	}
}
