// Package store is Aether's Postgres access, and the only package that
// holds SQL. Its files follow the subjects: configuration (config.go types,
// config_read.go, config_write.go), the request rows the accounting
// activities write idempotently (requests.go) and the admin API reads
// (requests_read.go), provider keys' breaker state (breakers.go), pricing
// facts and spend (spend.go), retention (retention.go) and the daily rollup
// (rollup.go), and the migrations (migrate.go). Every method is typed by
// subject; no caller passes a table name.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"aether/internal/secret"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write violates a uniqueness rule, such as
// a second provider with the same name.
var ErrConflict = errors.New("store: already exists")

// ErrInvalid is returned when a write violates a check or reference, such
// as a key for a provider that does not exist.
var ErrInvalid = errors.New("store: invalid reference or value")

// Store wraps a pgx pool. Box seals and opens provider secrets; it is
// needed only by code that writes or reads them.
type Store struct {
	Pool *pgxpool.Pool
	Box  *secret.Box
}

// Open connects to Postgres and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &Store{Pool: pool}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// interpretError translates driver errors into the package's sentinels in
// one place: no rows is ErrNotFound, a uniqueness violation ErrConflict, a
// check or reference violation ErrInvalid.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.Detail)
		case "23503", "23514", "23502", "22P02":
			return fmt.Errorf("%w: %s", ErrInvalid, pgErr.Message)
		}
	}
	return err
}
