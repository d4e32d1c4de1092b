// Package apiserver wires the API process: store, configuration snapshot,
// breakers, proxy, accounting and the HTTP server. cmd/api only loads the
// configuration and calls Run; tests build the same server in process.
package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"aether/internal/accounting"
	"aether/internal/breaker"
	"aether/internal/catalog"
	"aether/internal/config"
	"aether/internal/httpapi"
	"aether/internal/proxy"
	"aether/internal/routing"
	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/temporalx"
	"aether/internal/upstream"
)

// Deps lets tests replace parts of the server.
type Deps struct {
	// Recorder receives accounting events. Nil: the durable journal,
	// shipped to Temporal.
	Recorder proxy.Recorder
	// Temporal is the client the shipper uses. Nil: a lazy client for
	// AETHER_TEMPORAL_ADDRESS (the API starts even while Temporal is down).
	Temporal accounting.Starter
	// Transport for upstream calls. Nil: upstream.NewTransport().
	Transport http.RoundTripper
	// Getenv resolves ${VAR} in the configuration file. Nil: os.Getenv.
	Getenv func(string) string
}

// Server is a running API process.
type Server struct {
	Config   config.Config
	Store    *store.Store
	Catalog  *catalog.Watcher
	Breakers *breaker.Set
	Handler  http.Handler
	Journal  *accounting.Journal
	Shipper  *accounting.Shipper
	log      *slog.Logger
	closers  []func()
}

// New connects to Postgres, migrates, applies AETHER_CONFIG and builds the
// handler. It does not listen yet.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, deps Deps) (*Server, error) {
	if deps.Getenv == nil {
		deps.Getenv = os.Getenv
	}
	box, err := secret.NewBox(cfg.EncryptionKey)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	st.Box = box
	s := &Server{Config: cfg, Store: st, log: log}
	s.closers = append(s.closers, st.Close)
	if applied, err := st.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	} else if len(applied) > 0 {
		log.Info("database migrated", "versions", applied)
	}
	if cfg.ConfigFile != "" {
		f, err := seed.Load(cfg.ConfigFile, deps.Getenv)
		if err != nil {
			s.Close()
			return nil, err
		}
		sum, err := seed.Apply(ctx, st, f)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("apply %s: %w", cfg.ConfigFile, err)
		}
		log.Info("configuration file applied", "file", cfg.ConfigFile, "providers", sum.Providers, "models", sum.Models, "gateway_keys", sum.GatewayKeys)
	}
	s.Catalog = catalog.NewWatcher(catalog.WatcherConfig{Interval: cfg.SnapshotRefresh}, st, log)
	if err := s.Catalog.Load(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	s.Breakers = breaker.New(breaker.Config{
		FailureRatio: cfg.BreakerRatio, MinRequests: uint32(cfg.BreakerMinReqs), Window: cfg.BreakerWindow,
		OpenFor: cfg.BreakerOpenFor, HalfOpenProbes: uint32(cfg.BreakerProbes),
	}, nil)
	rec := deps.Recorder
	if rec == nil {
		j, err := accounting.OpenJournal(accounting.JournalConfig{Dir: cfg.JournalDir})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Journal = j
		starter := deps.Temporal
		if starter == nil {
			c, err := client.NewLazyClient(temporalx.Options(cfg.TemporalAddress, cfg.TemporalNamespace, log))
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, c.Close)
			starter = c
		}
		s.Shipper = accounting.NewShipper(accounting.ShipperConfig{TaskQueue: cfg.TaskQueue}, starter, j, log)
		rec = &accounting.Recorder{J: j, Log: log}
	}
	transport := deps.Transport
	if transport == nil {
		transport = upstream.NewTransport()
	}
	p := proxy.New(proxy.Config{
		FirstByteTimeout: cfg.FirstByteTimeout, RequestTimeout: cfg.RequestTimeout, MaxAttempts: cfg.MaxAttempts,
		Order: routing.Order(cfg.RoutingOrder), FailOpenAccounting: cfg.AccountingMode == "open",
	}, s.Catalog.Current, s.Breakers, routing.NewAffinity(cfg.AffinityTTL), transport, rec, nil, log)
	s.Handler = httpapi.New(httpapi.Config{MaxBodyBytes: cfg.MaxBodyBytes}, s.Catalog.Current, p).Routes()
	return s, nil
}

// Run serves on cfg.Listen until ctx ends, then drains in-flight requests
// (streams included) for up to ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Config.Listen)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go s.Catalog.Run(bg)
	go s.watchBreakers(bg)
	shipped := make(chan struct{})
	shipCtx, stopShipping := context.WithCancel(context.WithoutCancel(ctx))
	defer stopShipping()
	if s.Shipper != nil {
		go func() { s.Shipper.Run(shipCtx); close(shipped) }()
	} else {
		close(shipped)
	}
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("API listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.Config.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("drain deadline passed; closing remaining connections", "error", err)
		_ = srv.Close()
	}
	if s.Journal != nil {
		// Everything the drained requests reported is on disk; give the
		// shipper a moment to deliver it, and leave the rest to the next
		// start (the journal keeps it).
		_ = s.Journal.Close()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && s.Shipper.Stats().Pending > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	stopShipping()
	<-shipped
	return nil
}

// watchBreakers reads the durable breaker state every two seconds, so a
// key another replica opened is skipped here too, and state survives
// restarts (issue 4).
func (s *Server) watchBreakers(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		open, err := s.Store.OpenBreakers(qctx)
		cancel()
		if err == nil {
			s.Breakers.SetShared(open)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases everything New opened.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
