package store_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) {
	// Re-exec'd as a helper process by TestMigrateConcurrentProcesses.
	if u := os.Getenv("AETHER_MIGRATE_CHILD_URL"); u != "" {
		s, err := store.Open(context.Background(), u)
		if err == nil {
			_, err = s.Migrate(context.Background())
		}
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}

func tableCount(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(migrations) {
		t.Fatalf("first run applied %v, want all %d", first, len(migrations))
	}
	tables := tableCount(t, s)
	second, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Fatalf("second run applied %v, want nothing", second)
	}
	if got := tableCount(t, s); got != tables {
		t.Fatalf("tables changed from %d to %d", tables, got)
	}
	var recorded int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(migrations) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(migrations))
	}
}

// TestMigrateConcurrentProcesses starts two OS processes migrating the same
// empty database at once, as an API and a worker starting together do.
func TestMigrateConcurrentProcesses(t *testing.T) {
	u := testenv.DatabaseURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([][]byte, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "AETHER_MIGRATE_CHILD_URL="+u)
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("process %d: %v: %s", i, errs[i], outs[i])
		}
	}
	s, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	migrations, _ := store.Migrations()
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Fatalf("schema_migrations has %d rows after concurrent runs, want %d", n, len(migrations))
	}
}
