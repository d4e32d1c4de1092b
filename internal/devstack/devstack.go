// Package devstack is `make dev`: it starts Postgres (unless
// AETHER_DATABASE_URL is set), the Temporal dev server with its Web UI, the
// simulated upstream, the worker and the API, checks that a request goes
// through, writes .dev/env and waits for Ctrl-C to stop it all in order.
// A child that crashes meanwhile is restarted (supervise.go), and the rest
// keeps running.
package devstack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/procs"
	"aether/internal/testkit/temporaldev"
)

// Options configures a stack. Zero values take the documented defaults.
type Options struct {
	Root    string // module root (holds go.mod, config/, bin/)
	DataDir string // default Root/.dev
	Getenv  func(string) string
	Out     io.Writer // where the banner goes
}

// Stack is a running dev stack.
type Stack struct {
	opts Options
	env  map[string]string
	// Children, swapped under mu when the supervisor restarts one.
	mu       sync.Mutex
	pg       *pgcluster.Cluster
	temporal *temporaldev.Server
	tserver  *procs.Proc // `make prod-stack`'s Temporal server (prod.go)
	procs    []*procs.Proc
	children []*child
	// Supervision: stopped by Stop; failed reports a child left down.
	policy      restartPolicy
	superCancel context.CancelFunc
	superWG     sync.WaitGroup
	failed      chan error
	outMu       sync.Mutex
}

func (o *Options) get(name, def string) string {
	if v := o.Getenv(name); v != "" {
		return v
	}
	return def
}

// Start brings the stack up and returns once a request through the gateway
// succeeded.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	return launch(ctx, opts, filepath.Join(opts.Root, ".dev"), (*Stack).start)
}

// launch fills opts' defaults (dataDir for DataDir), runs start on a new
// stack and stops what start left running when it fails.
func launch(ctx context.Context, opts Options, dataDir string, start func(*Stack, context.Context) error) (*Stack, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	opts.DataDir = cmp.Or(opts.DataDir, dataDir)
	s := &Stack{opts: opts, env: map[string]string{}, policy: defaultRestartPolicy, failed: make(chan error, 1)}
	if err := start(s, ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Stack) say(format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.opts.Out, format+"\n", args...)
}

func (s *Stack) start(ctx context.Context) error {
	o := &s.opts
	logs := filepath.Join(o.DataDir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	apiAddr := o.get("AETHER_LISTEN", "127.0.0.1:8080")
	workerAddr := o.get("AETHER_WORKER_LISTEN", "127.0.0.1:8081")
	fakeAddr := o.get("AETHER_FAKE_LISTEN", "127.0.0.1:9090")
	tPort, err := strconv.Atoi(o.get("AETHER_DEV_TEMPORAL_PORT", "7233"))
	if err != nil {
		return fmt.Errorf("AETHER_DEV_TEMPORAL_PORT: %w", err)
	}
	uiPort, err := strconv.Atoi(o.get("AETHER_DEV_TEMPORAL_UI_PORT", "8233"))
	if err != nil {
		return fmt.Errorf("AETHER_DEV_TEMPORAL_UI_PORT: %w", err)
	}
	for name, addr := range map[string]string{"AETHER_LISTEN": apiAddr, "AETHER_WORKER_LISTEN": workerAddr, "AETHER_FAKE_LISTEN": fakeAddr,
		"AETHER_DEV_TEMPORAL_PORT": "127.0.0.1:" + strconv.Itoa(tPort), "AETHER_DEV_TEMPORAL_UI_PORT": "127.0.0.1:" + strconv.Itoa(uiPort)} {
		if err := portFree(addr); err != nil {
			return fmt.Errorf("%s: %s is already in use (is another `make dev` running? set %s to another port)", name, addr, name)
		}
	}

	encKey, adminToken, err := s.secrets()
	if err != nil {
		return err
	}
	demoKey := o.get("AETHER_DEMO_KEY", "sk-aether-dev")
	bin, err := s.build(ctx)
	if err != nil {
		return err
	}

	dbURL := o.Getenv("AETHER_DATABASE_URL")
	if dbURL == "" {
		pgPort, err := strconv.Atoi(o.get("AETHER_DEV_PG_PORT", "55432"))
		if err != nil {
			return fmt.Errorf("AETHER_DEV_PG_PORT: %w", err)
		}
		s.say("Starting Postgres on 127.0.0.1:%d (data in %s)...", pgPort, filepath.Join(o.DataDir, "pg"))
		pgOpts := pgcluster.Options{Dir: filepath.Join(o.DataDir, "pg"), Port: pgPort, LogFile: filepath.Join(logs, "postgres.log")}
		if err := s.startPostgres(ctx, pgOpts); err != nil {
			return err
		}
		if err := s.ensureDatabase(ctx, "aether"); err != nil {
			return err
		}
		dbURL = s.pg.URL("aether")
	}

	s.say("Starting Temporal dev server on 127.0.0.1:%d (Web UI on :%d)...", tPort, uiPort)
	tOpts := temporaldev.Options{
		Binary: o.Getenv("AETHER_TEMPORAL_CLI"), Port: tPort, UIPort: uiPort,
		DBFile: filepath.Join(o.DataDir, "temporal.db"), LogFile: filepath.Join(logs, "temporal.log"),
	}
	s.temporal, err = temporaldev.Start(ctx, tOpts)
	if err != nil {
		return err
	}
	s.children = append(s.children, &child{name: "temporal", log: tOpts.LogFile,
		done: func() <-chan struct{} { return s.temporal.Done() }, exit: func() string { return "see its log" }, pid: func() int { return s.temporal.Pid() },
		restart: func(ctx context.Context) error {
			t, err := temporaldev.Start(ctx, tOpts)
			if err == nil {
				s.mu.Lock()
				s.temporal = t
				s.mu.Unlock()
			}
			return err
		}})

	fakeURL := "http://" + fakeAddr
	common := map[string]string{
		"AETHER_DATABASE_URL":       dbURL,
		"AETHER_TEMPORAL_ADDRESS":   s.temporal.Address(),
		"AETHER_TEMPORAL_NAMESPACE": s.temporal.Namespace(),
		"AETHER_TEMPORAL_UI_URL":    s.temporal.UIURL(),
		"AETHER_ENCRYPTION_KEY":     encKey,
		"AETHER_ADMIN_TOKEN":        adminToken,
		"AETHER_LISTEN":             apiAddr,
		"AETHER_WORKER_LISTEN":      workerAddr,
		"AETHER_FAKE_LISTEN":        fakeAddr,
		"AETHER_FAKE_UPSTREAM_URL":  fakeURL,
		"AETHER_DEMO_KEY":           demoKey,
		"AETHER_CONFIG":             filepath.Join(o.Root, "config", "dev.yaml"),
		"AETHER_JOURNAL_DIR":        filepath.Join(o.DataDir, "journal"),
		"AETHER_LOG_FORMAT":         "text",
	}
	for _, p := range []struct{ name, bin, health string }{
		{"fakeupstream", "fakeupstream", fakeURL + "/healthz"},
		{"worker", "worker", "http://" + workerAddr + "/healthz"},
		{"api", "api", "http://" + apiAddr + "/healthz"},
	} {
		s.say("Starting %s...", p.name)
		if err := s.startProc(ctx, p.name, filepath.Join(bin, p.bin), common, filepath.Join(logs, p.name+".log"), p.health); err != nil {
			return err
		}
	}

	gateway := "http://" + apiAddr
	if err := smokeTest(ctx, gateway, demoKey); err != nil {
		return fmt.Errorf("a request through the gateway failed: %w (logs in %s)", err, logs)
	}
	s.env = map[string]string{
		"AETHER_GATEWAY_URL":        gateway,
		"AETHER_DEMO_KEY":           demoKey,
		"AETHER_DATABASE_URL":       dbURL,
		"AETHER_TEMPORAL_ADDRESS":   s.temporal.Address(),
		"AETHER_TEMPORAL_NAMESPACE": s.temporal.Namespace(),
		"AETHER_TEMPORAL_UI_URL":    s.temporal.UIURL(),
		"AETHER_ADMIN_TOKEN":        adminToken,
	}
	if err := s.writeEnv(); err != nil {
		return err
	}
	s.startSupervision(ctx)
	s.say(`
Aether is running.

  Gateway      %s
  Console      %s/console (log in with the admin token)
  Temporal UI  %s/namespaces/%s/workflows
  Demo key     %s
  Admin token  %s
  Logs         %s

  source %s   # exports the above for scripts

  curl %s/v1/chat/completions -H "Authorization: Bearer %s" \
    -H "Content-Type: application/json" \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}'

Models: gpt-4o-mini, gpt-5-codex (OpenAI), claude-sonnet-4-5 (Anthropic), gemini-2.5-flash (Gemini),
deepseek-chat, qwen3-coder (a Chat-only provider), and any other gpt-*, o[0-9]* (OpenAI),
claude-* (Anthropic) or gemini-* (Gemini) name. Any client can use any of them: a model
on another API's provider is reached by translation.
A part of the stack that crashes is restarted. Press Ctrl-C to stop everything.`,
		gateway, gateway, s.temporal.UIURL(), s.temporal.Namespace(), demoKey, adminToken, logs,
		filepath.Join(o.DataDir, "env"), gateway, demoKey)
	return nil
}

// secrets returns the encryption key and the admin token, kept in DataDir
// across runs.
func (s *Stack) secrets() (encKey, adminToken string, err error) {
	o := &s.opts
	encKey, err = persistentSecret(o, "AETHER_ENCRYPTION_KEY", filepath.Join(o.DataDir, "encryption.key"), 32)
	if err != nil {
		return "", "", err
	}
	adminToken, err = persistentSecret(o, "AETHER_ADMIN_TOKEN", filepath.Join(o.DataDir, "admin.token"), 24)
	return encKey, adminToken, err
}

// build compiles the api, worker and fakeupstream binaries into
// DataDir/bin and returns that directory.
func (s *Stack) build(ctx context.Context) (string, error) {
	s.say("Building binaries...")
	bin := filepath.Join(s.opts.DataDir, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./cmd/api", "./cmd/worker", "./cmd/fakeupstream")
	build.Dir = s.opts.Root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// startPostgres starts the Postgres cluster and puts it under supervision.
func (s *Stack) startPostgres(ctx context.Context, pgOpts pgcluster.Options) error {
	pg, err := pgcluster.Start(ctx, pgOpts)
	if err != nil {
		return err
	}
	s.pg = pg
	s.children = append(s.children, &child{name: "postgres", log: pgOpts.LogFile,
		done: func() <-chan struct{} { return s.pg.Done() }, exit: func() string { return "see its log" }, pid: func() int { return s.pg.Pid() },
		restart: func(ctx context.Context) error {
			pg, err := pgcluster.Start(ctx, pgOpts)
			if err == nil {
				s.mu.Lock()
				s.pg = pg
				s.mu.Unlock()
			}
			return err
		}})
	return nil
}

// startSupervision starts restarting crashed children; the supervisor
// outlives ctx (the start-up context) and ends with Stop.
func (s *Stack) startSupervision(ctx context.Context) {
	superCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.superCancel = cancel
	s.supervise(superCtx)
}

// Env returns what .dev/env exports.
func (s *Stack) Env() map[string]string { return s.env }

func (s *Stack) writeEnv(extra ...string) error {
	var b bytes.Buffer
	for _, k := range append([]string{"AETHER_GATEWAY_URL", "AETHER_DEMO_KEY", "AETHER_DATABASE_URL", "AETHER_TEMPORAL_ADDRESS",
		"AETHER_TEMPORAL_NAMESPACE", "AETHER_TEMPORAL_UI_URL", "AETHER_ADMIN_TOKEN"}, extra...) {
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(s.env[k], "'", `'\''`))
	}
	return os.WriteFile(filepath.Join(s.opts.DataDir, "env"), b.Bytes(), 0o600)
}

// persistentSecret returns the variable's value, or a random one generated
// on the first run and kept in file, so a second `make dev` reuses the
// data encrypted under it.
func persistentSecret(o *Options, name, file string, n int) (string, error) {
	if v := o.Getenv(name); v != "" {
		return v, nil
	}
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	v := hex.EncodeToString(buf)
	return v, os.WriteFile(file, []byte(v+"\n"), 0o600)
}

func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

func smokeTest(ctx context.Context, gateway, key string) error {
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"make dev smoke test"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gateway+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}

// Wait blocks until ctx ends or a child of the stack is left down after
// too many restarts; the error names it.
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.failed:
		return err
	}
}

// Stop stops everything in reverse start order. Supervision ends first,
// so nothing stopped here is restarted.
func (s *Stack) Stop() {
	if s.superCancel != nil {
		s.superCancel()
	}
	s.superWG.Wait()
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(40 * time.Second)
	}
	s.procs = nil
	if s.temporal != nil {
		s.temporal.Stop()
		s.temporal = nil
	}
	if s.tserver != nil {
		s.tserver.Stop(serverGrace)
		s.tserver = nil
	}
	if s.pg != nil {
		s.pg.Stop()
		s.pg = nil
	}
}
