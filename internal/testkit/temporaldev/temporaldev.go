// Package temporaldev runs the Temporal CLI's dev server (`temporal server
// start-dev`) for the dev stack and the test harness, always with
// TunedFlags and Aether's search attributes registered.
package temporaldev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"aether/internal/accounting/contract"
	"aether/internal/testkit/pgcluster"
)

// CLIVersion is the pinned Temporal CLI version Aether builds into bin/.
const CLIVersion = "v1.5.1"

// TunedFlags remove the dev server's default 50 ms per step: faster task
// polling, eager activities and a SQLite journal that syncs less often.
var TunedFlags = []string{
	"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "system.enableActivityEagerExecution=true",
	"--sqlite-pragma", "journal_mode=wal",
	"--sqlite-pragma", "synchronous=normal",
}

// Options configures a dev server.
type Options struct {
	// Binary is the temporal CLI. Default: FindCLI("").
	Binary string
	// Port is the frontend gRPC port. Zero picks a free one.
	Port int
	// UIPort serves the Web UI; zero with Headless false means Port+1000.
	UIPort int
	// Headless turns the Web UI off (tests).
	Headless bool
	// DBFile persists state in SQLite; empty keeps it in memory.
	DBFile string
	// Namespace to create. Default "default".
	Namespace string
	// LogFile receives the server output. Empty discards it.
	LogFile string
}

// Server is a running dev server.
type Server struct {
	opts Options
	cmd  *exec.Cmd
	done chan struct{}
}

// FindCLI locates the temporal binary: explicit path, then bin/temporal in
// the module root above dir, then PATH.
func FindCLI(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("temporaldev: no temporal CLI in bin/ or on PATH; run `make bin/temporal` (go install github.com/temporalio/cli/cmd/temporal@" + CLIVersion + ")")
}

// ModuleRoot walks up from the working directory to the directory holding
// go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("temporaldev: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Args returns the command-line arguments for opts (without the binary).
func Args(opts Options) []string {
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port),
		"--namespace", opts.Namespace,
		"--log-level", "warn",
	}
	if opts.Headless {
		args = append(args, "--headless")
	} else if opts.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	for _, sa := range contract.SearchAttributes {
		args = append(args, "--search-attribute", sa.Name+"="+sa.Type)
	}
	return append(args, TunedFlags...)
}

// Start launches the dev server and waits until its frontend accepts
// connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := FindCLI(opts.Binary)
	if err != nil {
		return nil, err
	}
	opts.Binary = bin
	if opts.Port == 0 {
		if opts.Port, err = pgcluster.FreePort(); err != nil {
			return nil, err
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Headless {
		opts.UIPort = 0
	}
	cmd := exec.Command(bin, Args(opts)...)
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("temporaldev: start %s: %w", bin, err)
	}
	s := &Server{opts: opts, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.wait(ctx, 120*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// wait polls the frontend until it accepts TCP connections and then
// answers the SDK's health check: the port opens before the frontend is
// serving, and a client dialled in between fails with "Frontend is not
// healthy yet".
func (s *Server) wait(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", s.Address(), time.Second)
		if err == nil {
			c.Close()
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			tc, derr := client.DialContext(hctx, client.Options{HostPort: s.Address(), Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			cancel()
			if derr == nil {
				tc.Close()
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("temporaldev: server exited during start-up (see %s)", s.opts.LogFile)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporaldev: no frontend on %s after %s", s.Address(), limit)
		}
	}
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Pid is the server's process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Address is the frontend host:port.
func (s *Server) Address() string { return "127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// Namespace is the namespace the server created.
func (s *Server) Namespace() string { return s.opts.Namespace }

// UIURL is the Web UI's URL, or "" when headless.
func (s *Server) UIURL() string {
	if s.opts.Headless {
		return ""
	}
	port := s.opts.UIPort
	if port == 0 {
		port = s.opts.Port + 1000
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts a stopped server again with the same options (tests of
// what happens while Temporal is away).
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	n, err := Start(ctx, s.opts)
	if err != nil {
		return err
	}
	*s = *n
	return nil
}
