// Package console is Aether's operator web UI, served at /console:
// server-rendered html/template pages over the admin API. Every read and
// change goes through the admin API's own handlers (internal/admin), so
// the console has no rule of its own: a form's errors are the admin API's
// field errors, shown beside the field they name. Assets are embedded;
// nothing is fetched at run time.
package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/admin"
	"aether/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the console. It is mounted only when the admin API is
// on, and accepts the admin API's token.
type Config struct {
	Admin admin.Config
	// Metrics is the API's /metrics handler, read for the accounting
	// pipeline's health on the overview; nil hides that panel.
	Metrics http.Handler
	// SessionTTL bounds a session; zero: 12 hours.
	SessionTTL time.Duration
	Log        *slog.Logger
}

// Console serves the pages.
type Console struct {
	cfg   Config
	admin http.Handler
	store *store.Store
	key   []byte // signs session cookies; derived from the admin token
	pages map[string]*template.Template
	now   func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // logged-out session nonces, until their expiry
}

// New returns the console.
func New(cfg Config) *Console {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	mac := hmac.New(sha256.New, []byte(cfg.Admin.Token))
	mac.Write([]byte("aether console session v1"))
	c := &Console{cfg: cfg, admin: admin.New(cfg.Admin).Routes(), store: cfg.Admin.Store, key: mac.Sum(nil),
		pages: map[string]*template.Template{}, now: time.Now, revoked: map[string]time.Time{}}
	for _, p := range []string{"login", "overview", "requests", "request", "providers", "models", "users", "keycreated", "audit"} {
		c.pages[p] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html"))
	}
	return c
}

const cookieName = "aether_console"

// A session is a cookie signed with a key derived from the admin token:
// expiry and a random nonce, then their HMAC. Any replica with the same
// token accepts it, without shared state; changing the token ends every
// session. Logout revokes the nonce on the replica that took it.
type session struct {
	nonce []byte
	exp   time.Time
}

func (c *Console) sign(b []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return m.Sum(nil)
}

func (c *Console) newSession(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 8+16)
	binary.BigEndian.PutUint64(b, uint64(c.now().Add(c.cfg.SessionTTL).Unix()))
	_, _ = rand.Read(b[8:])
	v := base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(c.sign(b))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: v, Path: "/console", MaxAge: int(c.cfg.SessionTTL.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (c *Console) session(r *http.Request) (session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	body, sig, ok := bytes.Cut([]byte(ck.Value), []byte("."))
	if !ok {
		return session{}, false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(string(body))
	s, err2 := base64.RawURLEncoding.DecodeString(string(sig))
	if err1 != nil || err2 != nil || len(b) != 24 || !hmac.Equal(s, c.sign(b)) {
		return session{}, false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b)), 0)
	if !c.now().Before(exp) {
		return session{}, false
	}
	c.mu.Lock()
	_, gone := c.revoked[string(b[8:])]
	c.mu.Unlock()
	if gone {
		return session{}, false
	}
	return session{nonce: b[8:], exp: exp}, true
}

func (c *Console) revoke(s session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for n, exp := range c.revoked {
		if !now.Before(exp) {
			delete(c.revoked, n)
		}
	}
	c.revoked[string(s.nonce)] = s.exp
}

// csrf is the session's CSRF token, sent in every form's hidden field.
func (c *Console) csrf(s session) string {
	return base64.RawURLEncoding.EncodeToString(c.sign(append([]byte("csrf:"), s.nonce...)))
}

type ctxKey struct{}

// requireSession refuses every page and action without a valid session:
// a page redirects to the login, a change is refused with 403. A change
// also needs the session's CSRF token.
func (c *Console) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Not logged in.", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<20)
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.csrf(s))) != 1 {
				http.Error(w, "Missing or invalid CSRF token.", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(contextWith(r, s)))
	})
}

// headers sets the security headers of every console response and
// refuses a cross-site change before it reaches a handler.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != "null" {
				if u, err := url.Parse(o); err != nil || u.Host != r.Host {
					http.Error(w, "Cross-site request refused.", http.StatusForbidden)
					return
				}
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				http.Error(w, "Cross-site request refused.", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// reply is the admin API's answer to an in-process call.
type reply struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (x *reply) Header() http.Header         { return x.header }
func (x *reply) Write(b []byte) (int, error) { return x.body.Write(b) }
func (x *reply) WriteHeader(status int) {
	if x.status == 0 {
		x.status = status
	}
}

// fieldError is the admin API's error body.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Fields  []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// call runs one admin API request in process, as the admin token's holder.
func (c *Console) call(r *http.Request, method, path string, body io.Reader, contentType string) (*reply, *apiError) {
	// A fresh routing context: the admin router must route the path
	// itself, not continue the console's route.
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		e := &apiError{}
		e.Error.Message = "Bad request path."
		return &reply{status: http.StatusBadRequest}, e
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Admin.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	x := &reply{header: http.Header{}}
	c.admin.ServeHTTP(x, req)
	if x.status == 0 {
		x.status = http.StatusOK
	}
	if x.status < 300 {
		return x, nil
	}
	e := &apiError{}
	if json.Unmarshal(x.body.Bytes(), e) != nil || e.Error.Message == "" {
		e.Error.Message = http.StatusText(x.status)
	}
	return x, e
}

// get decodes an admin API answer into v.
func (c *Console) get(r *http.Request, path string, v any) *apiError {
	x, e := c.call(r, http.MethodGet, path, nil, "")
	if e != nil {
		return e
	}
	if err := json.Unmarshal(x.body.Bytes(), v); err != nil {
		e = &apiError{}
		e.Error.Message = "Unreadable answer from the admin API."
		return e
	}
	return nil
}
