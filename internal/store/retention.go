package store

import (
	"context"
	"time"
)

// Retention deletes history in bounded batches: each call deletes at most
// limit rows older than before, in one short transaction, and returns how
// many it deleted. Callers repeat until fewer than limit come back.

// DeleteExpiredRequests deletes one batch of request rows, and the
// overview's hourly sums of the hours before before's hour.
func (s *Store) DeleteExpiredRequests(ctx context.Context, before time.Time, limit int) (int64, error) {
	for _, sql := range []string{`DELETE FROM request_stats_hourly WHERE hour < date_trunc('hour', $1::timestamptz)`,
		`DELETE FROM request_latency_hourly WHERE hour < date_trunc('hour', $1::timestamptz)`} {
		if _, err := s.Pool.Exec(ctx, sql, before); err != nil {
			return 0, interpretError(err)
		}
	}
	return s.deleteBatch(ctx, `DELETE FROM requests WHERE request_id IN (SELECT request_id FROM requests WHERE created_at < $1 LIMIT $2)`, before, limit)
}

// DeleteExpiredAttempts deletes one batch of request attempt rows.
func (s *Store) DeleteExpiredAttempts(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM request_attempts WHERE (request_id, seq) IN (SELECT request_id, seq FROM request_attempts WHERE created_at < $1 LIMIT $2)`, before, limit)
}

// DeleteExpiredAudit deletes one batch of audit log lines.
func (s *Store) DeleteExpiredAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)`, before, limit)
}

func (s *Store) deleteBatch(ctx context.Context, sql string, before time.Time, limit int) (int64, error) {
	tag, err := s.Pool.Exec(ctx, sql, before, limit)
	if err != nil {
		return 0, interpretError(err)
	}
	return tag.RowsAffected(), nil
}
