package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The daily rollup (request_stats_daily) keeps aggregates after retention
// deletes the raw rows. request_rollup_days says which days it holds and
// which changed since: every write of a request row first takes a shared
// advisory lock on the row's UTC day and marks that day dirty when it was
// already rolled up; RollupDay takes the same lock exclusively. So a day is
// either summed with a row or marked dirty by it, never neither, and
// aggregates read a dirty day from the raw rows until it is summed again.

// rollupLockClass is the first key of the per-day advisory locks ("AETR");
// the second is the day's number since 1970-01-01. Two-key advisory locks
// never collide with the one-key migration lock.
const rollupLockClass int32 = 0x41455452

// markDayChanged runs first in every transaction that writes a request row
// received at receivedAt (the row's created_at).
func markDayChanged(ctx context.Context, tx pgx.Tx, receivedAt time.Time) error {
	// Two statements: the second must see a rollup that committed while
	// the first waited for the lock, and a statement sees only what was
	// committed when it started.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1, ($2::timestamptz AT TIME ZONE 'UTC')::date - DATE '1970-01-01')`,
		rollupLockClass, receivedAt); err != nil {
		return interpretError(err)
	}
	// Only days at or before the last one rolled up: the usual write, for
	// today, touches no row. An already dirty day is left unlocked.
	_, err := tx.Exec(ctx, `INSERT INTO request_rollup_days (day, dirty)
		SELECT d, true FROM (SELECT ($1::timestamptz AT TIME ZONE 'UTC')::date AS d) x
		WHERE d <= (SELECT max(day) FROM request_rollup_days)
		  AND NOT EXISTS (SELECT 1 FROM request_rollup_days WHERE day = d AND dirty)
		ON CONFLICT (day) DO UPDATE SET dirty = true`, receivedAt)
	return interpretError(err)
}

// RollupDay sums one UTC day of requests into request_stats_daily and
// marks the day clean. It replaces the day's rows, so running it twice
// gives the same result.
func (s *Store) RollupDay(ctx context.Context, day time.Time) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		d := day.UTC().Format(time.DateOnly)
		// Waits for every open transaction writing a row of this day.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2::date - DATE '1970-01-01')`, rollupLockClass, d); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM request_stats_daily WHERE day = $1::date`, d); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO request_stats_daily (day, model, user_id, provider, requests, failed, input_tokens,
				output_tokens, cache_tokens, total_tokens, cost_usd)
			SELECT $1::date, model, coalesce(user_id, 0), coalesce(provider, ''), count(*), count(*) FILTER (WHERE status <> 'completed'),
				sum(input_tokens), sum(output_tokens), sum(cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens),
				sum(total_tokens), coalesce(sum(total_cost_usd), 0)
			FROM requests WHERE created_at >= $1::date::timestamp AT TIME ZONE 'UTC' AND created_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
			GROUP BY model, coalesce(user_id, 0), coalesce(provider, '')`, d)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `INSERT INTO request_rollup_days (day, rolled_at, dirty) VALUES ($1::date, now(), false)
			ON CONFLICT (day) DO UPDATE SET rolled_at = now(), dirty = false`, d)
		return err
	})
	return n, interpretError(err)
}

// RollupDue lists the days through (UTC, inclusive) that need a rollup, in
// order: the days after the last one rolled up (from the oldest request's
// day on the first run), and earlier days whose rows changed since.
func (s *Store) RollupDue(ctx context.Context, through time.Time) ([]time.Time, error) {
	rows, err := s.Pool.Query(ctx, `SELECT day::timestamp FROM request_rollup_days WHERE dirty AND day <= $1::date
		UNION
		SELECT g FROM generate_series(
			coalesce((SELECT max(day) + 1 FROM request_rollup_days)::timestamp,
				(SELECT min(created_at AT TIME ZONE 'UTC')::date FROM requests)::timestamp),
			$1::date::timestamp, interval '1 day') g
		ORDER BY 1`, through.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, interpretError(err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	for i := range days {
		days[i] = days[i].UTC()
	}
	return days, interpretError(err)
}
