package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"aether/internal/temporalx"
	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/procs"
)

// ServerVersion is the Temporal server `make prod-stack` builds into bin/:
// the version the pinned CLI (temporaldev.CLIVersion) embeds.
const ServerVersion = "v1.29.1"

// ProdReplicas is how many API replicas and workers `make prod-stack` runs.
const ProdReplicas = 2

// prodPorts are the ports of `make prod-stack`, each from its variable.
type prodPorts struct {
	api, worker []string // host:port, one per replica
	fake        string
	pg          int
	temporal    int // first of the 11 ports deploy/temporal/aether.yaml uses
}

func (o *Options) prodPorts() (prodPorts, error) {
	var p prodPorts
	for i := range ProdReplicas {
		p.api = append(p.api, o.get(fmt.Sprintf("AETHER_PROD_API%d_LISTEN", i+1), fmt.Sprintf("127.0.0.1:%d", 8180+i)))
		p.worker = append(p.worker, o.get(fmt.Sprintf("AETHER_PROD_WORKER%d_LISTEN", i+1), fmt.Sprintf("127.0.0.1:%d", 8182+i)))
	}
	p.fake = o.get("AETHER_PROD_FAKE_LISTEN", "127.0.0.1:9190")
	var err error
	if p.pg, err = strconv.Atoi(o.get("AETHER_PROD_PG_PORT", "55433")); err != nil {
		return p, fmt.Errorf("AETHER_PROD_PG_PORT: %w", err)
	}
	if p.temporal, err = strconv.Atoi(o.get("AETHER_PROD_TEMPORAL_PORT", "7433")); err != nil {
		return p, fmt.Errorf("AETHER_PROD_TEMPORAL_PORT: %w", err)
	}
	if p.temporal < 1024 || p.temporal+10 > 32767 {
		// Temporal keeps membership ports in a smallint column.
		return p, fmt.Errorf("AETHER_PROD_TEMPORAL_PORT: %d: the 11 ports from it must lie in 1024-32767", p.temporal)
	}
	return p, nil
}

// StartProd is `make prod-stack`: Postgres, the production Temporal server
// (bin/temporal-server) on Postgres persistence and SQL visibility with
// deploy/temporal/aether.yaml, the simulated upstream, and two workers and
// two API replicas against that Temporal and the same Postgres. It creates
// the Temporal databases and schemas on the first run, registers the
// namespace and Aether's search attributes, and returns once a request
// through each replica succeeded. Data lives in Root/.dev/prod.
func StartProd(ctx context.Context, opts Options) (*Stack, error) {
	return launch(ctx, opts, filepath.Join(opts.Root, ".dev", "prod"), (*Stack).startProd)
}

func (s *Stack) startProd(ctx context.Context) error {
	o := &s.opts
	logs := filepath.Join(o.DataDir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	ports, err := o.prodPorts()
	if err != nil {
		return err
	}
	busy := map[string]string{"AETHER_PROD_FAKE_LISTEN": ports.fake}
	for i := range ProdReplicas {
		busy[fmt.Sprintf("AETHER_PROD_API%d_LISTEN", i+1)] = ports.api[i]
		busy[fmt.Sprintf("AETHER_PROD_WORKER%d_LISTEN", i+1)] = ports.worker[i]
	}
	for i := range 11 {
		busy[fmt.Sprintf("AETHER_PROD_TEMPORAL_PORT (+%d)", i)] = "127.0.0.1:" + strconv.Itoa(ports.temporal+i)
	}
	for name, addr := range busy {
		if err := portFree(addr); err != nil {
			return fmt.Errorf("%s: %s is already in use (is another `make prod-stack` running?)", name, addr)
		}
	}
	serverBin := o.get("AETHER_TEMPORAL_SERVER", filepath.Join(o.Root, "bin", "temporal-server"))
	sqlTool := filepath.Join(filepath.Dir(serverBin), "temporal-sql-tool")
	for _, b := range []string{serverBin, sqlTool} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%s is missing: run `make bin/temporal-server` (go.temporal.io/server %s)", b, ServerVersion)
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

	s.say("Starting Postgres on 127.0.0.1:%d (data in %s)...", ports.pg, filepath.Join(o.DataDir, "pg"))
	pgOpts := pgcluster.Options{Dir: filepath.Join(o.DataDir, "pg"), Port: ports.pg, LogFile: filepath.Join(logs, "postgres.log")}
	if err := s.startPostgres(ctx, pgOpts); err != nil {
		return err
	}
	if err := s.ensureDatabase(ctx, "aether"); err != nil {
		return err
	}
	if err := s.temporalSchemas(ctx, sqlTool, ports.pg, logs); err != nil {
		return err
	}

	address := "127.0.0.1:" + strconv.Itoa(ports.temporal)
	s.say("Starting the Temporal server %s on %s (Postgres persistence, SQL visibility)...", ServerVersion, address)
	tEnv := map[string]string{"AETHER_PROD_PG_PORT": strconv.Itoa(ports.pg), "AETHER_PROD_TEMPORAL_PORT": strconv.Itoa(ports.temporal)}
	tLog := filepath.Join(logs, "temporal.log")
	startServer := func(ctx context.Context) (*procs.Proc, error) {
		return startTemporalServer(ctx, serverBin, o.Root, tEnv, tLog, address)
	}
	if s.tserver, err = startServer(ctx); err != nil {
		return err
	}
	s.children = append(s.children, &child{name: "temporal", log: tLog,
		done: func() <-chan struct{} { return s.tserver.Done() }, exit: func() string { return s.tserver.Exit() }, pid: func() int { return s.tserver.Pid() },
		restart: func(ctx context.Context) error {
			t, err := startServer(ctx)
			if err == nil {
				s.mu.Lock()
				s.tserver = t
				s.mu.Unlock()
			}
			return err
		}})
	const namespace = "default"
	if err := prepareNamespace(ctx, address, namespace); err != nil {
		return err
	}

	fakeURL := "http://" + ports.fake
	common := map[string]string{
		"AETHER_DATABASE_URL":       s.pg.URL("aether"),
		"AETHER_TEMPORAL_ADDRESS":   address,
		"AETHER_TEMPORAL_NAMESPACE": namespace,
		"AETHER_ENCRYPTION_KEY":     encKey,
		"AETHER_ADMIN_TOKEN":        adminToken,
		"AETHER_FAKE_LISTEN":        ports.fake,
		"AETHER_FAKE_UPSTREAM_URL":  fakeURL,
		"AETHER_DEMO_KEY":           demoKey,
		"AETHER_CONFIG":             filepath.Join(o.Root, "config", "dev.yaml"),
		"AETHER_LOG_FORMAT":         "text",
	}
	type part struct {
		name, bin, health string
		env               map[string]string
	}
	parts := []part{{"fakeupstream", "fakeupstream", fakeURL + "/healthz", nil}}
	for i := range ProdReplicas {
		parts = append(parts, part{fmt.Sprintf("worker-%d", i+1), "worker", "http://" + ports.worker[i] + "/healthz",
			map[string]string{"AETHER_WORKER_LISTEN": ports.worker[i]}})
	}
	var gateways []string
	for i := range ProdReplicas {
		gateways = append(gateways, "http://"+ports.api[i])
		parts = append(parts, part{fmt.Sprintf("api-%d", i+1), "api", gateways[i] + "/healthz",
			map[string]string{"AETHER_LISTEN": ports.api[i], "AETHER_JOURNAL_DIR": filepath.Join(o.DataDir, fmt.Sprintf("journal-%d", i+1))}})
	}
	for _, p := range parts {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		for k, v := range p.env {
			env[k] = v
		}
		s.say("Starting %s...", p.name)
		if err := s.startProc(ctx, p.name, filepath.Join(bin, p.bin), env, filepath.Join(logs, p.name+".log"), p.health); err != nil {
			return err
		}
	}
	for _, gw := range gateways {
		if err := smokeTest(ctx, gw, demoKey); err != nil {
			return fmt.Errorf("a request through %s failed: %w (logs in %s)", gw, err, logs)
		}
	}
	s.env = map[string]string{
		"AETHER_GATEWAY_URL":        gateways[0],
		"AETHER_GATEWAY_URLS":       gateways[0] + "," + gateways[1],
		"AETHER_DEMO_KEY":           demoKey,
		"AETHER_DATABASE_URL":       s.pg.URL("aether"),
		"AETHER_TEMPORAL_ADDRESS":   address,
		"AETHER_TEMPORAL_NAMESPACE": namespace,
		"AETHER_TEMPORAL_UI_URL":    "",
		"AETHER_ADMIN_TOKEN":        adminToken,
		"AETHER_FAKE_LISTEN":        ports.fake,
	}
	if err := s.writeEnv("AETHER_GATEWAY_URLS", "AETHER_FAKE_LISTEN"); err != nil {
		return err
	}
	s.startSupervision(ctx)
	s.say(`
Aether is running on the production Temporal server (Postgres).

  Gateways     %s  %s  (two API replicas; put a load balancer in front)
  Temporal     %s, namespace %s (no Web UI: bin/temporal workflow list --address %s)
  Metrics      http://127.0.0.1:%d/metrics (Temporal), pprof on 127.0.0.1:%d
  Postgres     %s (databases aether, temporal, temporal_visibility)
  Demo key     %s
  Admin token  %s
  Logs         %s

  source %s   # exports the above for scripts and aetherbench

A part of the stack that crashes is restarted. Press Ctrl-C to stop everything.`,
		gateways[0], gateways[1], address, namespace, address, ports.temporal+9, ports.temporal+10,
		s.pg.URL("postgres"), demoKey, adminToken, logs, filepath.Join(o.DataDir, "env"))
	return nil
}

// startProc starts one of Aether's binaries, waits until it is healthy and
// puts it under supervision.
func (s *Stack) startProc(ctx context.Context, name, bin string, env map[string]string, logFile, health string) error {
	start := func() (*procs.Proc, error) { return procs.Start(name, bin, s.opts.Root, env, logFile) }
	proc, err := start()
	if err != nil {
		return err
	}
	i := len(s.procs)
	s.procs = append(s.procs, proc)
	if err := proc.WaitHealthy(ctx, health, 90*time.Second); err != nil {
		return err
	}
	s.children = append(s.children, &child{name: name, log: logFile,
		done: func() <-chan struct{} { return s.procs[i].Done() }, exit: func() string { return s.procs[i].Exit() },
		pid: func() int { return s.procs[i].Pid() },
		restart: func(ctx context.Context) error {
			proc, err := start()
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.procs[i] = proc
			s.mu.Unlock()
			if err := proc.WaitHealthy(ctx, health, 90*time.Second); err != nil {
				proc.Stop(5 * time.Second)
				return err
			}
			return nil
		}})
	return nil
}

func (s *Stack) ensureDatabase(ctx context.Context, name string) error {
	ok, err := s.pg.DatabaseExists(ctx, name)
	if err != nil || ok {
		return err
	}
	return s.pg.CreateDatabase(ctx, name, "")
}

// temporalSchemas creates the Temporal persistence and visibility
// databases on the first run and brings both schemas to the versions the
// server module ships, with temporal-sql-tool, as a production install
// would. update-schema applies only what is missing, so a second run
// changes nothing.
func (s *Stack) temporalSchemas(ctx context.Context, tool string, port int, logs string) error {
	dir, err := serverModuleDir(ctx)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(logs, "temporal-sql-tool.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	for _, db := range []struct{ name, schema string }{
		{"temporal", "temporal"},
		{"temporal_visibility", "visibility"},
	} {
		run := func(args ...string) error {
			cmd := exec.CommandContext(ctx, tool, append([]string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(port),
				"-u", "postgres", "--db", db.name}, args...)...)
			cmd.Stdout, cmd.Stderr = logf, logf
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %w (see %s)", args[0], db.name, err, logf.Name())
			}
			return nil
		}
		ok, err := s.pg.DatabaseExists(ctx, db.name)
		if err != nil {
			return err
		}
		if !ok {
			s.say("Creating the %s database and schema...", db.name)
			if err := run("create-database"); err != nil {
				return err
			}
			if err := run("setup-schema", "-v", "0.0"); err != nil {
				return err
			}
		}
		if err := run("update-schema", "-d", filepath.Join(dir, "schema", "postgresql", "v12", db.schema, "versioned")); err != nil {
			return err
		}
	}
	return nil
}

// serverModuleDir is the Temporal server module in the Go module cache,
// which holds the versioned schemas (downloaded by `make bin/temporal-server`).
func serverModuleDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "go.temporal.io/server@"+ServerVersion)
	cmd.Dir = os.TempDir() // outside the module: go.mod stays as it is
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download go.temporal.io/server@%s: %w", ServerVersion, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download go.temporal.io/server@%s: no module directory in %q", ServerVersion, out)
	}
	return m.Dir, nil
}

// prepareNamespace registers the namespace (3 days' retention) unless it
// exists, then Aether's search attributes, retrying while the server's
// namespace cache catches up.
func prepareNamespace(ctx context.Context, address, namespace string) error {
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := temporalx.EnsureSearchAttributes(ctx, c, namespace)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s: %w", namespace, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// startTemporalServer runs all four services of the server in one process
// with deploy/temporal/aether.yaml, and waits until the frontend answers
// the SDK's health check.
func startTemporalServer(ctx context.Context, bin, root string, env map[string]string, logFile, address string) (*procs.Proc, error) {
	p, err := procs.Start("temporal server", bin, root, env, logFile, "--root", root, "--config", "deploy/temporal", "--env", "aether", "--allow-no-auth",
		"start", "--service", "frontend", "--service", "history", "--service", "matching", "--service", "worker")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", address, time.Second); err == nil {
			c.Close()
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			tc, derr := client.DialContext(hctx, client.Options{HostPort: address, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			cancel()
			if derr == nil {
				tc.Close()
				return p, nil
			}
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("temporal server exited during start-up (%s):\n%s", logFile, p.Tail(3))
		case <-ctx.Done():
			p.Stop(serverGrace)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop(serverGrace)
			return nil, fmt.Errorf("temporal server: no frontend on %s after 2m (see %s)", address, logFile)
		}
	}
}

// serverGrace is how long the server gets after SIGTERM to drain its
// shards before it is killed.
const serverGrace = 30 * time.Second
