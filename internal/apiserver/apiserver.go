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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"aether/internal/accounting"
	"aether/internal/admin"
	"aether/internal/breaker"
	"aether/internal/catalog"
	"aether/internal/config"
	"aether/internal/httpapi"
	"aether/internal/limits"
	"aether/internal/metrics"
	"aether/internal/proxy"
	"aether/internal/routing"
	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/temporalx"
	"aether/internal/tracing"
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
	// JournalFile opens the journal's files. Nil: os.OpenFile; tests
	// inject a failing disk.
	JournalFile func(name string, flag int, perm os.FileMode) (accounting.File, error)
	// TracerProvider traces requests. Nil: an OTLP exporter when
	// cfg.Tracing is enabled, else no tracing at all.
	TracerProvider trace.TracerProvider
}

// Server is a running API process.
type Server struct {
	Config   config.Config
	Store    *store.Store
	Catalog  *catalog.Watcher
	Breakers *breaker.Set
	Handler  http.Handler
	// API is the router's server; shutdown drains its WebSockets.
	API      *httpapi.Server
	Journal  *accounting.Journal
	Shipper  *accounting.Shipper
	Registry *prometheus.Registry
	Metrics  *metrics.API
	Limits   *limits.Limiter
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
	s.Registry = metrics.NewRegistry()
	s.Metrics = metrics.NewAPI(s.Registry, func(name string) bool { _, ok := s.Catalog.Current().Model(name); return ok })
	s.Limits = limits.New(limits.Config{FailOpen: cfg.LimitsMode == "open"}, st, log)
	if err := s.Limits.Refresh(ctx); err != nil {
		log.Warn("budget state not read at start-up", "error", err)
	}
	s.Breakers = breaker.New(breaker.Config{
		FailureRatio: cfg.BreakerRatio, MinRequests: uint32(cfg.BreakerMinReqs), Window: cfg.BreakerWindow,
		OpenFor: cfg.BreakerOpenFor, HalfOpenProbes: uint32(cfg.BreakerProbes),
	}, nil)
	tp, err := s.tracerProvider(ctx, cfg.Tracing, deps.TracerProvider)
	if err != nil {
		s.Close()
		return nil, err
	}
	var tracer trace.Tracer
	if tp != nil {
		tracer = tp.Tracer("aether/proxy")
	}
	rec := deps.Recorder
	if rec == nil {
		j, err := accounting.OpenJournal(accounting.JournalConfig{Dir: cfg.JournalDir, SegmentBytes: int64(cfg.JournalSegment), MaxBytes: cfg.JournalMaxBytes, Log: log, OpenFile: deps.JournalFile})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Journal = j
		s.closers = append(s.closers, func() { _ = j.Close() }) // idempotent; Serve closes it first
		starter := deps.Temporal
		if starter == nil {
			opts := temporalx.Options(cfg.TemporalAddress, cfg.TemporalNamespace, log)
			if tp != nil {
				// The shipper's workflow starts carry the request's trace.
				ti, err := tracing.TemporalInterceptor(tp)
				if err != nil {
					s.Close()
					return nil, err
				}
				opts.Interceptors = append(opts.Interceptors, ti)
			}
			c, err := client.NewLazyClient(opts)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, c.Close)
			starter = c
		}
		shipCfg := accounting.ShipperConfig{TaskQueue: cfg.TaskQueue}
		if svc, ok := starter.(interface {
			WorkflowService() workflowservice.WorkflowServiceClient
		}); ok {
			shipCfg.Backlog = func(ctx context.Context) (int64, error) {
				resp, err := svc.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
					Namespace: cfg.TemporalNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: cfg.TaskQueue, Kind: enums.TASK_QUEUE_KIND_NORMAL},
					TaskQueueType: enums.TASK_QUEUE_TYPE_WORKFLOW, ReportStats: true,
				})
				return resp.GetStats().GetApproximateBacklogCount(), err
			}
		}
		s.Shipper = accounting.NewShipper(shipCfg, starter, j, log)
		// Fail-closed: a request is served only once its start is on disk.
		rec = &accounting.Recorder{J: j, Durable: cfg.AccountingMode != "open"}
	}
	transport := deps.Transport
	if transport == nil {
		transport = upstream.NewDirect(upstream.NewTransport())
	}
	p := proxy.New(proxy.Config{
		FirstByteTimeout: cfg.FirstByteTimeout, RequestTimeout: cfg.RequestTimeout, MaxAttempts: cfg.MaxAttempts,
		Order: routing.Order(cfg.RoutingOrder), FailOpenAccounting: cfg.AccountingMode == "open", Tracer: tracer,
	}, s.Catalog.Current, s.Breakers, routing.NewAffinity(cfg.AffinityTTL), transport, rec, s.Metrics, s.Limits, log)
	s.registerGauges()
	s.API = httpapi.New(httpapi.Config{
		MaxBodyBytes:         cfg.MaxBodyBytes,
		MaxInflightBodyBytes: cfg.MaxInflightBody,
		BodyReadTimeout:      cfg.BodyReadTimeout,
		WebSocketIdleTimeout: cfg.WebSocketIdleTimeout,
		WebSocketMaxLifetime: cfg.WebSocketMaxLifetime,
		Log:                  log,
		Observer:             s.Metrics,
		Metrics:              promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}),
		Admin: admin.Config{
			Token: cfg.AdminToken, Store: st, Breakers: s.Breakers, TemporalUIURL: cfg.TemporalUIURL,
			Namespace: cfg.TemporalNamespace, Refresh: s.Catalog.Load,
		},
	}, s.Catalog.Current, p)
	s.Handler = s.API.Routes()
	return s, nil
}

// registerGauges exports state read at scrape time: the journal and the
// shipper, the configuration snapshot, and breaker states per provider.
func (s *Server) registerGauges() {
	reg := s.Registry
	if s.Shipper != nil {
		ship, j := s.Shipper, s.Journal
		metrics.GaugeFunc(reg, "aether_journal_unshipped_entries", "Accounting journal entries not yet delivered to Temporal, on disk or in memory.", func() float64 { return float64(ship.Stats().UnshippedSeqs) })
		metrics.GaugeFunc(reg, "aether_journal_shipper_memory_entries", "Journal entries the shipper holds in memory, read and not yet delivered (at most its window; the rest of a backlog stays on disk).", func() float64 { return float64(ship.Stats().InMemory) })
		metrics.GaugeFunc(reg, "aether_journal_pending_requests", "Requests the shipper holds in memory: with events read and not yet delivered, or started and not ended.", func() float64 { return float64(ship.Stats().Pending) })
		metrics.GaugeFunc(reg, "aether_journal_oldest_unshipped_seconds", "Age of the oldest undelivered journal entry, on disk or in memory.", func() float64 { return ship.Stats().OldestAge.Seconds() })
		metrics.CounterFunc(reg, "aether_ship_calls_total", "Temporal calls made by the accounting shipper.", func() float64 { return float64(ship.Stats().Calls) })
		metrics.CounterFunc(reg, "aether_ship_errors_total", "Temporal calls of the accounting shipper that failed (retried).", func() float64 { return float64(ship.Stats().Errors) })
		metrics.CounterFunc(reg, "aether_ship_delivered_requests_total", "Requests whose accounting reached Temporal in full.", func() float64 { return float64(ship.Stats().Delivered) })
		metrics.CounterFunc(reg, "aether_ship_held_back_total", "Times the shipper paused because Temporal's task queue held more than 200 waiting workflow tasks.", func() float64 { return float64(ship.Stats().HeldBack) })
		metrics.CounterFunc(reg, "aether_ship_conflicts_total", "Requests whose ID was held by another request's workflow: not recorded, logged in full at ERROR.", func() float64 { return float64(ship.Stats().Conflicts) })
		metrics.CounterFunc(reg, "aether_journal_write_errors_total", "Failed journal writes (retried; new requests are refused while failing when fail-closed).", func() float64 { return float64(j.Stats().WriteErrors) })
		metrics.CounterFunc(reg, "aether_journal_fsyncs_total", "Journal group commits.", func() float64 { return float64(j.Stats().Fsyncs) })
		metrics.CounterFunc(reg, "aether_journal_lost_events_total", "Events the disk refused until shutdown; each was logged in full at ERROR.", func() float64 { return float64(j.Stats().Lost) })
		metrics.GaugeFunc(reg, "aether_journal_bytes", "Size of the accounting journal's segment files on disk (AETHER_JOURNAL_MAX_BYTES caps it).", func() float64 { return float64(j.Stats().Bytes) })
		metrics.GaugeFunc(reg, "aether_journal_unwritten_events", "Accounting events accepted but not yet on disk.", func() float64 { return float64(j.Stats().Unwritten) })
		metrics.CounterFunc(reg, "aether_journal_refused_starts_total", "Requests whose start event the journal refused (disk failing or too far behind).", func() float64 { return float64(j.Stats().Refused) })
	}
	metrics.GaugeFunc(reg, "aether_config_version", "Configuration version of this replica's snapshot.", func() float64 { return float64(s.Catalog.Current().Version) })
	metrics.GaugeFunc(reg, "aether_config_snapshot_age_seconds", "Time since this replica last loaded its configuration snapshot.", func() float64 { return time.Since(s.Catalog.Current().Loaded).Seconds() })
	reg.MustRegister(&breakerCollector{s: s})
}

// breakerCollector reports how many provider keys of each provider are in
// each breaker state, on this replica.
type breakerCollector struct{ s *Server }

var breakerDesc = prometheus.NewDesc("aether_breaker_keys", "Provider keys by provider and circuit-breaker state on this replica.", []string{"provider", "state"}, nil)

func (b *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc }

func (b *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	snap := b.s.Catalog.Current()
	now := time.Now()
	for _, p := range snap.Providers() {
		counts := map[string]float64{"closed": 0, "open": 0, "half_open": 0}
		for _, k := range p.Keys {
			st := string(b.s.Breakers.State(k.ID))
			if b.s.Breakers.Open(k.ID, now) {
				st = "open"
			}
			counts[st]++
		}
		for _, st := range []string{"closed", "open", "half_open"} {
			ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, counts[st], p.Name, st)
		}
	}
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
//
// When ctx ends it stops accepting connections and lets the requests in
// flight, streams included, run for up to ShutdownTimeout. At that deadline
// the requests still running are cut: their contexts are cancelled with
// proxy.ErrShutdown as the cause, which the proxy records as failed/shutdown
// with the usage seen so far (never as a client cancel), and their
// connections are closed. http.Server's Shutdown and Close return without
// waiting for handlers, so the journal is closed only once every handler
// has returned, that is, has appended its final event.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go s.Catalog.Run(bg)
	go s.watchBreakers(bg)
	go s.Limits.Run(bg)
	shipped := make(chan struct{})
	shipCtx, stopShipping := context.WithCancel(context.WithoutCancel(ctx))
	defer stopShipping()
	if s.Shipper != nil {
		go func() { s.Shipper.Run(shipCtx); close(shipped) }()
	} else {
		close(shipped)
	}
	base, cut := context.WithCancelCause(context.Background())
	defer cut(nil)
	handlers := &inflight{}
	srv := &http.Server{
		Handler:           handlers.track(s.Handler),
		BaseContext:       func(net.Listener) context.Context { return base },
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
	// WebSockets are hijacked, so Shutdown does not wait for them: each
	// closes (1001) once its response in flight ends, or is cut below.
	wsDrained := make(chan error, 1)
	go func() { wsDrained <- s.API.DrainWebSockets(sctx) }()
	err := srv.Shutdown(sctx)
	if werr := <-wsDrained; err == nil {
		err = werr
	}
	if err != nil {
		s.log.Warn("drain deadline passed; cutting the requests still running", "requests", handlers.running())
		cut(proxy.ErrShutdown)
		// Cut handlers return within moments, having answered 503 or
		// aborted their response; closing the connections under them
		// first would lose those answers, so wait (briefly) for their
		// connections to finish as a drain does. Close then frees any
		// handler blocked writing to a client that stopped reading.
		gctx, gcancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(gctx)
		gcancel()
		_ = srv.Close()
	}
	// The bound only keeps a stuck handler from holding the process.
	if !handlers.wait(10 * time.Second) {
		s.log.Error("handlers still running after shutdown; closing the journal without their final events", "requests", handlers.running())
	}
	if s.Journal != nil {
		// Everything the drained requests reported is on disk; give the
		// shipper a moment to deliver it, and leave the rest to the next
		// start (the journal keeps it).
		_ = s.Journal.Close()
		deadline := time.Now().Add(5 * time.Second)
		for st := s.Shipper.Stats(); time.Now().Before(deadline) && (st.Pending > 0 || st.UnshippedSeqs > 0); st = s.Shipper.Stats() {
			time.Sleep(50 * time.Millisecond)
		}
	}
	stopShipping()
	<-shipped
	return nil
}

// inflight counts the handlers running, so shutdown can wait for them.
type inflight struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when n reaches 0 while closing
}

func (f *inflight) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.closing {
			// Read just before the connections closed: too late to serve.
			f.mu.Unlock()
			w.Header().Set("Connection", "close")
			http.Error(w, "the gateway is shutting down", http.StatusServiceUnavailable)
			return
		}
		f.n++
		f.mu.Unlock()
		defer f.done() // also when the handler aborts with a panic
		next.ServeHTTP(w, r)
	})
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

func (f *inflight) running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// wait refuses new handlers and waits up to d for the running ones to
// return; it reports whether they all did.
func (f *inflight) wait(d time.Duration) bool {
	f.mu.Lock()
	f.closing = true
	if f.n == 0 {
		f.mu.Unlock()
		return true
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// watchBreakers reads the durable breaker state every two seconds, so a
// key another replica opened is skipped here too, and state survives
// restarts (issue 4).
func (s *Server) watchBreakers(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	seen := map[int64]int64{} // reset generation per key
	first := true
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		open, err := s.Store.OpenBreakers(qctx)
		var resets map[int64]int64
		if err == nil {
			resets, err = s.Store.BreakerResets(qctx)
		}
		cancel()
		if err == nil {
			s.Breakers.SetShared(open)
			// An operator reset a key (on any replica): drop this
			// replica's local breaker for it as well.
			for id, gen := range resets {
				if gen > seen[id] && !first {
					s.Breakers.Reset(id)
				}
				seen[id] = gen
			}
			first = false
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
