package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/llm"
)

// Provider keys' durable health: written with each final record, read
// by the API replicas to share breaker state, and reset by an admin.

// recordHealth folds the attempts into each provider key's durable health:
// counters, consecutive failures, and the breaker transitions the API saw.
func recordHealth(ctx context.Context, tx pgx.Tx, o llm.Outcome) error {
	batch := &pgx.Batch{}
	for _, a := range o.Attempts {
		switch a.Outcome {
		case llm.OutcomeSuccess:
			batch.Queue(`INSERT INTO provider_key_health (provider_key_id, total_successes)
				SELECT $1, 1 WHERE EXISTS (SELECT 1 FROM provider_keys WHERE id = $1)
				ON CONFLICT (provider_key_id) DO UPDATE SET total_successes = provider_key_health.total_successes + 1,
					consecutive_failures = 0, updated_at = now()`, a.KeyID)
		case llm.OutcomeFailed:
			batch.Queue(`INSERT INTO provider_key_health (provider_key_id, total_failures, consecutive_failures, last_error_class, last_failure_at)
				SELECT $1, 1, 1, $2::text, $3::timestamptz WHERE EXISTS (SELECT 1 FROM provider_keys WHERE id = $1)
				ON CONFLICT (provider_key_id) DO UPDATE SET total_failures = provider_key_health.total_failures + 1,
					consecutive_failures = provider_key_health.consecutive_failures + 1,
					last_error_class = EXCLUDED.last_error_class, last_failure_at = EXCLUDED.last_failure_at, updated_at = now()`,
				a.KeyID, string(a.ErrorClass), a.StartedAt)
		}
	}
	for _, ch := range o.BreakerChanges {
		// Apply a transition only if it is newer than the stored one, so a
		// late event from a slow replica cannot reopen a recovered key.
		batch.Queue(`INSERT INTO provider_key_health (provider_key_id, state, open_until, state_changed_at)
			SELECT $1, $2::text, $3::timestamptz, $4::timestamptz WHERE EXISTS (SELECT 1 FROM provider_keys WHERE id = $1)
			ON CONFLICT (provider_key_id) DO UPDATE SET state = EXCLUDED.state, open_until = EXCLUDED.open_until,
				state_changed_at = EXCLUDED.state_changed_at, updated_at = now()
			WHERE provider_key_health.state_changed_at IS NULL OR provider_key_health.state_changed_at <= EXCLUDED.state_changed_at`,
			ch.KeyID, ch.State, nullTime(ch.OpenUntil), ch.At)
	}
	if batch.Len() == 0 {
		return nil
	}
	// Keys deleted meanwhile are skipped by the EXISTS guards.
	return interpretError(tx.SendBatch(ctx, batch).Close())
}

// OpenBreakers returns provider keys whose durable breaker is open now,
// with the time each may be tried again.
func (s *Store) OpenBreakers(ctx context.Context) (map[int64]time.Time, error) {
	rows, err := s.Pool.Query(ctx, `SELECT provider_key_id, open_until FROM provider_key_health WHERE state = 'open' AND open_until > now()`)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var until time.Time
		if err := rows.Scan(&id, &until); err != nil {
			return nil, err
		}
		out[id] = until
	}
	return out, rows.Err()
}

// KeyHealth is one provider key's breaker state for the admin API.
type KeyHealth struct {
	KeyID               int64      `json:"key_id"`
	Provider            string     `json:"provider"`
	Key                 string     `json:"key"`
	State               string     `json:"state"`
	OpenUntil           *time.Time `json:"open_until"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	TotalFailures       int64      `json:"total_failures"`
	TotalSuccesses      int64      `json:"total_successes"`
	RecentFailures      int64      `json:"failures_last_5m"`
	LastErrorClass      *string    `json:"last_error_class"`
	LastFailureAt       *time.Time `json:"last_failure_at"`
	ResetGeneration     int64      `json:"-"`
}

// ListKeyHealth returns the durable breaker state of every provider key,
// with its failures in the last five minutes.
func (s *Store) ListKeyHealth(ctx context.Context) ([]KeyHealth, error) {
	rows, err := s.Pool.Query(ctx, `SELECT k.id, p.name, k.name, coalesce(h.state, 'closed'),
		CASE WHEN h.open_until > now() THEN h.open_until END, coalesce(h.consecutive_failures, 0),
		coalesce(h.total_failures, 0), coalesce(h.total_successes, 0),
		(SELECT count(*) FROM request_attempts a WHERE a.provider_key_id = k.id AND a.outcome = 'failed' AND a.created_at > now() - interval '5 minutes'),
		h.last_error_class, h.last_failure_at, coalesce(h.reset_generation, 0)
		FROM provider_keys k JOIN providers p ON p.id = k.provider_id LEFT JOIN provider_key_health h ON h.provider_key_id = k.id
		ORDER BY p.name, k.name`)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []KeyHealth
	for rows.Next() {
		var h KeyHealth
		if err := rows.Scan(&h.KeyID, &h.Provider, &h.Key, &h.State, &h.OpenUntil, &h.ConsecutiveFailures, &h.TotalFailures,
			&h.TotalSuccesses, &h.RecentFailures, &h.LastErrorClass, &h.LastFailureAt, &h.ResetGeneration); err != nil {
			return nil, err
		}
		if h.State == "open" && h.OpenUntil == nil {
			h.State = "half_open" // its open period is over: the next request probes it
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ResetBreaker closes a provider key's durable breaker and bumps its reset
// generation, which tells every replica to reset its local breaker too.
func (s *Store) ResetBreaker(ctx context.Context, keyID int64) error {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO provider_key_health (provider_key_id, state, reset_generation, state_changed_at)
		SELECT id, 'closed', 1, now() FROM provider_keys WHERE id = $1
		ON CONFLICT (provider_key_id) DO UPDATE SET state = 'closed', open_until = NULL, consecutive_failures = 0,
			reset_generation = provider_key_health.reset_generation + 1, state_changed_at = now(), updated_at = now()`, keyID)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return interpretError(err)
}

// BreakerResets returns each provider key's reset generation.
func (s *Store) BreakerResets(ctx context.Context) (map[int64]int64, error) {
	rows, err := s.Pool.Query(ctx, `SELECT provider_key_id, reset_generation FROM provider_key_health WHERE reset_generation > 0`)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, gen int64
		if err := rows.Scan(&id, &gen); err != nil {
			return nil, err
		}
		out[id] = gen
	}
	return out, rows.Err()
}
