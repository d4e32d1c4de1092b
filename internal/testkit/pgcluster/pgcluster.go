// Package pgcluster runs a throwaway Postgres cluster from the system's
// binaries (Debian's postgresql-15) for the dev stack and the test harness.
// Postgres refuses to run as root, so when Aether runs as root every
// Postgres command goes through `runuser -u postgres --`.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package installs Postgres.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Options configures a cluster.
type Options struct {
	// Dir holds the data directory (Dir/data), sockets and the log.
	Dir string
	// Port to listen on, on 127.0.0.1. Zero picks a free one.
	Port int
	// BinDir holds initdb, postgres and pg_ctl. Default DefaultBinDir, or the
	// directory of `initdb` on PATH.
	BinDir string
	// Fast trades durability for speed (fsync off): for tests only.
	Fast bool
	// LogFile receives the server log. Default Dir/postgres.log.
	LogFile string
}

// Cluster is a running Postgres server.
type Cluster struct {
	opts Options
	cmd  *exec.Cmd
	done chan struct{}
}

// Start initialises the cluster if Dir/data does not exist yet, then starts
// the server and waits until it accepts connections. A second Start on the
// same Dir reuses the data.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgcluster: Dir is required")
	}
	if opts.BinDir == "" {
		opts.BinDir = DefaultBinDir
		if _, err := os.Stat(filepath.Join(opts.BinDir, "initdb")); err != nil {
			if p, err := exec.LookPath("initdb"); err == nil {
				opts.BinDir = filepath.Dir(p)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(opts.BinDir, "postgres")); err != nil {
		return nil, fmt.Errorf("pgcluster: no Postgres server binaries in %s (install Debian's postgresql-15 package): %w", opts.BinDir, err)
	}
	if opts.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if opts.LogFile == "" {
		opts.LogFile = filepath.Join(dir, "postgres.log")
	}
	c := &Cluster{opts: opts}
	if err := c.prepare(ctx); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns a connection URL for database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.opts.Port, db)
}

func (c *Cluster) dataDir() string { return filepath.Join(c.opts.Dir, "data") }
func (c *Cluster) runDir() string  { return filepath.Join(c.opts.Dir, "run") }

// asPostgres builds a command that runs as the postgres user when the
// current user is root, and as the current user otherwise.
func asPostgres(ctx context.Context, name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

func (c *Cluster) prepare(ctx context.Context) error {
	if err := os.MkdirAll(c.runDir(), 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(c.opts.Dir); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err == nil {
		// Reuse: clear a stale pid file left by a killed server.
		if pid, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pid), "\n")
			if n, err := strconv.Atoi(first); err == nil && syscall.Kill(n, 0) != nil {
				_ = os.Remove(filepath.Join(c.dataDir(), "postmaster.pid"))
			}
		}
		return nil
	}
	out, err := asPostgres(ctx, filepath.Join(c.opts.BinDir, "initdb"),
		"-D", c.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, lastLines(out, 5))
	}
	return nil
}

// chownToPostgres hands dir and everything below it to the postgres user,
// and makes sure that user can reach dir through its parents.
func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgcluster: running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func (c *Cluster) start(ctx context.Context) error {
	args := []string{
		"-D", c.dataDir(),
		"-p", strconv.Itoa(c.opts.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + c.runDir(),
		"-c", "max_connections=300",
		"-c", "shared_buffers=128MB",
	}
	if c.opts.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logf, err := os.OpenFile(c.opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// Not CommandContext: the server outlives the start-up context.
	cmd := asPostgres(context.Background(), filepath.Join(c.opts.BinDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so a terminal's Ctrl-C reaches the owner first and
	// it stops the server in order; Pdeathsig stops it if the owner dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(c.opts.LogFile)
			return fmt.Errorf("pgcluster: postgres exited during start-up: %s", lastLines(log, 8))
		case <-ctx.Done():
			c.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return fmt.Errorf("pgcluster: postgres not accepting connections after 60s: %w", err)
		}
	}
}

// Stop shuts the server down (fast mode: open sessions are cut) and waits.
func (c *Cluster) Stop() {
	if c.cmd == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = asPostgres(context.Background(), filepath.Join(c.opts.BinDir, "pg_ctl"), "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "30").Run()
	select {
	case <-c.done:
	case <-time.After(35 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Done is closed when the server process has exited.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Pid is the postmaster's process ID (from postmaster.pid: as root the
// server runs under runuser, which is not the server), or 0.
func (c *Cluster) Pid() int {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// Resume starts a stopped server again on the same port and data.
func (c *Cluster) Resume(ctx context.Context) error { return c.start(ctx) }

// CreateDatabase creates database name (optionally as a copy of template).
// Identifiers are quoted by pgx, never concatenated from untrusted input.
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	return nil
}

// DatabaseExists reports whether database name exists.
func (c *Cluster) DatabaseExists(ctx context.Context, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var ok bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
	return ok, err
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
