// Package testenv gives tests the real things: one ephemeral Postgres
// cluster and one Temporal dev server per test binary, started on first use
// on free ports and torn down when the binary exits (call Main from
// TestMain). AETHER_TEST_DATABASE_URL and AETHER_TEST_TEMPORAL_ADDRESS point
// tests at servers that are already running instead. Every test gets its own
// database.
package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/store"
	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/temporaldev"
)

var (
	mu        sync.Mutex
	cluster   *pgcluster.Cluster
	adminURL  string // URL of a maintenance database on the test server
	baseDir   string
	template  string
	temporal  *temporaldev.Server
	tempAddr  string
	dbCounter atomic.Int64
)

// Main runs the package's tests and then stops what they started. Use it as
// `func TestMain(m *testing.M) { testenv.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the servers this binary started.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	for _, f := range exitFuncs {
		f()
	}
	exitFuncs = nil
	if temporal != nil {
		temporal.Stop()
		temporal = nil
	}
	if cluster != nil {
		cluster.Stop()
		cluster = nil
	}
	if baseDir != "" {
		_ = os.RemoveAll(baseDir)
		baseDir = ""
	}
}

func workDir() (string, error) {
	if baseDir == "" {
		d, err := os.MkdirTemp("", "aether-test-")
		if err != nil {
			return "", err
		}
		baseDir = d
	}
	return baseDir, nil
}

// Cluster returns the ephemeral cluster, or nil when tests use
// AETHER_TEST_DATABASE_URL. Tests that stop Postgres need it.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	ensurePostgres(t)
	mu.Lock()
	defer mu.Unlock()
	return cluster
}

func ensurePostgres(t testing.TB) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if adminURL != "" {
		return
	}
	if ext := os.Getenv("AETHER_TEST_DATABASE_URL"); ext != "" {
		adminURL = ext
		return
	}
	dir, err := workDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir + "/pg", Fast: true})
	if err != nil {
		t.Fatalf("testenv: start Postgres: %v", err)
	}
	cluster = c
	adminURL = c.URL("postgres")
}

// withDatabase returns u with its database name replaced.
func withDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.Path = "/" + db
	return p.String()
}

func createDatabase(ctx context.Context, name, tmpl string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if tmpl != "" {
		sql += " TEMPLATE " + pgx.Identifier{tmpl}.Sanitize()
	}
	_, err = conn.Exec(ctx, sql)
	return err
}

func dropDatabase(ctx context.Context, name string) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func uniqueName(t testing.TB) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, t.Name())
	if len(n) > 30 {
		n = n[:30]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbCounter.Add(1), n)
}

// DatabaseURL creates an empty database for this test and returns its URL.
// The database is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return database(t, "")
}

func database(t testing.TB, tmpl string) string {
	t.Helper()
	ensurePostgres(t)
	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := createDatabase(ctx, name, tmpl); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dropDatabase(ctx, name)
	})
	return withDatabase(adminURL, name)
}

// MigratedDatabaseURL returns a fresh database with every migration applied.
// It copies a template migrated once per test binary, which is far faster
// than migrating each test's database.
func MigratedDatabaseURL(t testing.TB) string {
	t.Helper()
	ensurePostgres(t)
	mu.Lock()
	if template == "" {
		name := fmt.Sprintf("tmpl%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := createDatabase(ctx, name, "")
		if err == nil {
			var s *store.Store
			if s, err = store.Open(ctx, withDatabase(adminURL, name)); err == nil {
				_, err = s.Migrate(ctx)
				s.Close()
			}
		}
		cancel()
		if err != nil {
			mu.Unlock()
			t.Fatalf("testenv: migrate template database: %v", err)
		}
		template = name
		if cluster == nil { // external server: drop the template at exit
			tmpl := name
			registerExit(func() { dropDatabase(context.Background(), tmpl) })
		}
	}
	tmpl := template
	mu.Unlock()
	return database(t, tmpl)
}

// Store opens a migrated database of this test's own and closes it at the end.
func Store(t testing.TB) *store.Store {
	t.Helper()
	u := MigratedDatabaseURL(t)
	s, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

var exitFuncs []func()

func registerExit(f func()) { exitFuncs = append(exitFuncs, f) }

// Temporal returns the address and namespace of the dev server, starting it
// on first use.
func Temporal(t testing.TB) (address, namespace string) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if tempAddr != "" {
		return tempAddr, "default"
	}
	if ext := os.Getenv("AETHER_TEST_TEMPORAL_ADDRESS"); ext != "" {
		tempAddr = ext
		return tempAddr, "default"
	}
	dir, err := workDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := temporaldev.Start(ctx, temporaldev.Options{Headless: true, LogFile: dir + "/temporal.log"})
	if err != nil {
		t.Fatalf("testenv: start Temporal dev server: %v", err)
	}
	temporal = s
	tempAddr = s.Address()
	return tempAddr, "default"
}

// TemporalServer returns the dev server this binary started, or nil when
// tests use AETHER_TEST_TEMPORAL_ADDRESS. Tests that stop Temporal need it.
func TemporalServer(t testing.TB) *temporaldev.Server {
	t.Helper()
	Temporal(t)
	mu.Lock()
	defer mu.Unlock()
	return temporal
}
