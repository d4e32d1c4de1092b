// Package gatewaytest builds a complete API process in a test: a migrated
// database of the test's own, configuration applied from YAML, the real
// router on a real listener, and simulated upstreams speaking each
// provider's wire format. Accounting goes to an in-memory recorder unless
// the test asks for the real journal.
package gatewaytest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"aether/internal/accounting"
	"aether/internal/apiserver"
	"aether/internal/config"
	"aether/internal/proxy"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/memrecorder"
	"aether/internal/testkit/testenv"
)

// Key is the gateway key of user "tester" in DefaultYAML.
const Key = "sk-test-gateway-key-0001"

// DefaultYAML routes one model per format to the simulated upstream at
// ${FAKE_URL}, each provider with two keys: "primary" (tried first) and
// "backup". The upstream sees the key secrets, so Config.ByKey can make one
// fail while the other answers.
const DefaultYAML = `
providers:
  - name: p-openai
    priority: 10
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1"}]
    keys:
      - {name: primary, secret: k-openai-primary, priority: 1}
      - {name: backup, secret: k-openai-backup, priority: 2}
  - name: p-anthropic
    priority: 10
    endpoints: [{format: anthropic, base_url: "${FAKE_URL}"}]
    keys:
      - {name: primary, secret: k-anthropic-primary, priority: 1}
      - {name: backup, secret: k-anthropic-backup, priority: 2}
  - name: p-gemini
    priority: 10
    endpoints: [{format: gemini, base_url: "${FAKE_URL}"}]
    keys:
      - {name: primary, secret: k-gemini-primary, priority: 1}
      - {name: backup, secret: k-gemini-backup, priority: 2}
models:
  - name: gpt-4o-mini
    aliases: [gpt-4o-mini-2024-07-18]
    routes: [{provider: p-openai}]
  - name: claude-sonnet-4-5
    routes: [{provider: p-anthropic, upstream_model: claude-sonnet-4-5-20250929}]
  - name: gemini-2.5-flash
    routes: [{provider: p-gemini}]
prices:
  - {model: gpt-4o-mini, input: 0.15, output: 0.60, cache_read: 0.075}
  - {model: claude-sonnet-4-5, input: 3, output: 15, cache_read: 0.30, cache_write_5m: 3.75, cache_write_1h: 6}
  - {model: gemini-2.5-flash, input: 0.30, output: 2.50, cache_read: 0.03}
users:
  - name: tester
    keys: [{name: tester-key, key: "` + Key + `"}]
`

// Options configures a test gateway.
type Options struct {
	Fake fakeupstream.Config
	// YAML is the configuration file; ${FAKE_URL} is the upstream's URL.
	// Empty: DefaultYAML.
	YAML string
	// Env adds variables for ${...} references in YAML.
	Env map[string]string
	// Config adjusts the process configuration before start.
	Config func(*config.Config)
	// Log replaces the test logger (tests of the access log).
	Log *slog.Logger
	// DatabaseURL shares a database with another gateway (a second
	// replica); empty gives this gateway a database of its own.
	DatabaseURL string
	// AdminToken turns the admin API on.
	AdminToken string
	// Transport replaces the upstream transport.
	Transport http.RoundTripper
	// Recorder replaces the in-memory recorder (tests of accounting
	// failures).
	Recorder proxy.Recorder
	// Journal uses the durable journal and this Temporal client-like
	// starter instead of the in-memory recorder.
	Journal  bool
	Temporal accounting.Starter
	// JournalFile opens the journal's files (tests of a failing disk).
	JournalFile func(name string, flag int, perm os.FileMode) (accounting.File, error)
	// TracerProvider traces the proxy (tests of spans).
	TracerProvider trace.TracerProvider
}

// Gateway is a running test gateway.
type Gateway struct {
	URL      string
	Fake     *fakeupstream.Server
	FakeURL  string
	Recorder *memrecorder.Memory
	Server   *apiserver.Server
	Config   config.Config
	cancel   context.CancelFunc
	done     chan struct{}
}

// New starts a gateway for t; it stops when t ends.
func New(t testing.TB, opts Options) *Gateway {
	t.Helper()
	fake := fakeupstream.New(opts.Fake)
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); fakeSrv.Close() })

	yaml := opts.YAML
	if yaml == "" {
		yaml = DefaultYAML
	}
	dir := t.TempDir()
	file := dir + "/aether.yaml"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FAKE_URL": fakeSrv.URL}
	for k, v := range opts.Env {
		env[k] = v
	}
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = testenv.MigratedDatabaseURL(t)
	}
	cfg, err := config.Load(func(k string) string {
		switch k {
		case "AETHER_ADMIN_TOKEN":
			return opts.AdminToken
		case "AETHER_ENCRYPTION_KEY":
			return strings.Repeat("ab", 32)
		case "AETHER_DATABASE_URL":
			return dbURL
		case "AETHER_CONFIG":
			return file
		case "AETHER_SNAPSHOT_REFRESH":
			return "100ms"
		case "AETHER_STREAM_FIRST_BYTE_TIMEOUT":
			return "2s"
		case "AETHER_JOURNAL_DIR":
			return dir + "/journal"
		case "AETHER_SHUTDOWN_TIMEOUT":
			return "5s"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	g := &Gateway{Fake: fake, FakeURL: fakeSrv.URL, Config: cfg, done: make(chan struct{})}
	deps := apiserver.Deps{Getenv: func(k string) string { return env[k] }, Transport: opts.Transport, TracerProvider: opts.TracerProvider}
	switch {
	case opts.Journal:
		deps.Temporal, deps.JournalFile = opts.Temporal, opts.JournalFile
	case opts.Recorder != nil:
		deps.Recorder = opts.Recorder
	default:
		g.Recorder = memrecorder.New()
		deps.Recorder = g.Recorder
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	log := opts.Log
	if log == nil {
		log = Logger(t)
	}
	srv, err := apiserver.New(ctx, cfg, log, deps)
	if err != nil {
		cancel()
		t.Fatalf("gateway start-up: %v", err)
	}
	g.Server = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.URL = "http://" + ln.Addr().String()
	go func() { _ = srv.Serve(ctx, ln); close(g.done) }()
	t.Cleanup(g.Stop)
	return g
}

// Stop shuts the gateway down (idempotent).
func (g *Gateway) Stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	<-g.done
	g.Server.Close()
	g.cancel = nil
}

// Logger returns a logger that writes to the test log only on failure.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("AETHER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var buf bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type syncWriter struct {
	w  io.Writer
	mu sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// Finished waits for the request's final accounting event.
func (g *Gateway) Finished(t testing.TB, requestID string) memrecorder.Record {
	t.Helper()
	rec, ok := g.Recorder.WaitFinished(requestID, 10*time.Second)
	if !ok {
		t.Fatalf("request %s never finished (ids seen: %v)", requestID, g.Recorder.IDs())
	}
	return rec
}

var _ proxy.Recorder = (*memrecorder.Memory)(nil)

// Post sends a client request through the gateway with a JSON body and the
// given headers; the response body is closed when the test ends.
func (g *Gateway) Post(t testing.TB, path, body string, header map[string]string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Bearer is the Authorization header of the test gateway key.
func Bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + Key}
}
