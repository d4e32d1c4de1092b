// Package httpapi is Aether's HTTP front end: every route, the middleware,
// and the mapping of the gateway's own errors to each API's error shape.
package httpapi

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"aether/internal/admin"
	"aether/internal/anthropic"
	"aether/internal/catalog"
	"aether/internal/console"
	"aether/internal/gemini"
	"aether/internal/llm"
	"aether/internal/openai"
	"aether/internal/proxy"
)

// Config configures the router.
type Config struct {
	MaxBodyBytes int64
	// MaxInflightBodyBytes caps the request-body bytes held in memory by
	// all requests together; above it a request is refused with 503.
	// Zero: 16 × MaxBodyBytes.
	MaxInflightBodyBytes int64
	// BodyReadTimeout bounds the time from a request's start to the end of
	// its body; zero: no bound.
	BodyReadTimeout time.Duration
	// Log receives one access line per response the proxy did not log.
	Log *slog.Logger
	// Observer counts responses and buffered body bytes.
	Observer Observer
	// Metrics serves GET /metrics (Prometheus text format).
	Metrics http.Handler
	// WebSocketIdleTimeout closes a Responses WebSocket with no request
	// for that long; zero: 5 minutes.
	WebSocketIdleTimeout time.Duration
	// WebSocketMaxLifetime closes a Responses WebSocket that old once its
	// response in flight ends; zero: no bound.
	WebSocketMaxLifetime time.Duration
	// Admin configures /admin/v1 (internal/admin); it is off when
	// Admin.Token is empty.
	Admin admin.Config
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg     Config
	catalog func() *catalog.Snapshot
	proxy   *proxy.Proxy
	bodies  *bodyBudget
	sockets *sockets
	now     func() time.Time
}

// New returns the API server.
func New(cfg Config, snapshot func() *catalog.Snapshot, p *proxy.Proxy) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	cfg.MaxInflightBodyBytes = cmp.Or(cfg.MaxInflightBodyBytes, 16*cfg.MaxBodyBytes)
	bodies := &bodyBudget{max: cfg.MaxInflightBodyBytes, obs: cfg.Observer}
	return &Server{cfg: cfg, catalog: snapshot, proxy: p, bodies: bodies, sockets: newSockets(), now: time.Now}
}

var (
	dOpenAI    = openai.Dialect{}
	dAnthropic = anthropic.Dialect{}
	dGemini    = gemini.Dialect{}
)

// Routes builds the router: every client-facing route is listed here; the
// admin API's routes are listed in internal/admin's Routes, mounted at
// /admin/v1.
func (s *Server) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(s.requestID)
	r.Use(s.access)

	// Unauthenticated: Claude Code's HEAD / preconnect, and health.
	r.Head("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("Aether LLM gateway\n")) })
	r.Get("/healthz", s.healthz)
	if s.cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.cfg.Metrics)
	}

	r.Group(func(r chi.Router) {
		r.With(s.auth(dOpenAI)).Post("/v1/chat/completions", s.openAIChat)
		r.With(s.auth(dOpenAI)).Post("/v1/responses", s.openAIResponses)
		r.With(s.auth(dOpenAI)).Get("/v1/responses", s.responsesWebSocket)
		r.With(s.auth(dAnthropic)).Post("/v1/messages", s.anthropicMessages)
		r.With(s.auth(dAnthropic)).Post("/v1/messages/count_tokens", s.anthropicCountTokens)
		r.With(s.auth(dGemini)).Post("/v1beta/models/{id}", s.geminiAction)
		r.With(s.auth(dGemini)).Post("/v1/models/{id}", s.geminiAction)
		r.With(s.auth(dGemini)).Get("/v1beta/models", s.geminiModels)
		r.With(s.auth(dGemini)).Get("/v1beta/models/{id}", s.geminiModel)
		r.With(s.modelsAuth).Get("/v1/models", s.listModels)
		r.With(s.modelsAuth).Get("/v1/models/{id}", s.getModel)
	})
	if s.cfg.Admin.Token != "" {
		r.Mount("/admin/v1", admin.New(s.cfg.Admin).Routes())
		r.Mount("/console", console.New(console.Config{Admin: s.cfg.Admin, Metrics: s.cfg.Metrics, Log: s.cfg.Log}).Routes())
	} else {
		r.HandleFunc("/admin/v1/*", admin.Disabled)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, dialectFor(r), llm.KindNotFound, reasonNotFound, fmt.Sprintf("Unknown path %.64q", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, dialectFor(r), llm.KindMethodNotAllowed, reasonMethodNotAllowed, fmt.Sprintf("%.16s is not allowed on %.64q", r.Method, r.URL.Path))
	})
	return r
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	snap := s.catalog()
	w.Header().Set("Content-Type", "application/json")
	if snap == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"starting"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}
