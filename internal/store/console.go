package store

import (
	"context"
	"time"
)

// HourStats is one hour of the console's overview.
type HourStats struct {
	Hour     time.Time
	Requests int64
	Failed   int64
	Tokens   int64
	CostUSD  float64
}

// Overview is the console's summary of requests created in [from, to).
type Overview struct {
	Requests, Failed, Tokens int64
	CostUSD                  float64
	P50MS, P95MS             float64
	Hours                    []HourStats
	// LagAvg and LagMax are the worker's recording lag (from a request's
	// end to its row's last write) over the requests created in the ten
	// minutes before to; Recorded counts those requests.
	LagAvg, LagMax time.Duration
	Recorded       int64
}

// ConsoleOverview sums the requests created in [from, to) per hour, with
// the median and 95th percentile of their total latency.
func (s *Store) ConsoleOverview(ctx context.Context, from, to time.Time) (*Overview, error) {
	rows, err := s.Pool.Query(ctx, `SELECT date_trunc('hour', created_at) AS h, count(*),
		count(*) FILTER (WHERE status = 'failed'), coalesce(sum(total_tokens), 0)::bigint,
		coalesce(sum(total_cost_usd), 0)::float8
		FROM requests WHERE created_at >= $1 AND created_at < $2 GROUP BY h ORDER BY h`, from, to)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var o Overview
	for rows.Next() {
		var h HourStats
		if err := rows.Scan(&h.Hour, &h.Requests, &h.Failed, &h.Tokens, &h.CostUSD); err != nil {
			return nil, err
		}
		o.Requests += h.Requests
		o.Failed += h.Failed
		o.Tokens += h.Tokens
		o.CostUSD += h.CostUSD
		o.Hours = append(o.Hours, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	err = s.Pool.QueryRow(ctx, `SELECT coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY total_ms), 0)::float8,
		coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY total_ms), 0)::float8
		FROM requests WHERE created_at >= $1 AND created_at < $2 AND total_ms IS NOT NULL`, from, to).Scan(&o.P50MS, &o.P95MS)
	if err != nil {
		return nil, interpretError(err)
	}
	var avg, mx float64
	err = s.Pool.QueryRow(ctx, `SELECT count(*), coalesce(avg(extract(epoch FROM updated_at - finished_at)), 0)::float8,
		coalesce(max(extract(epoch FROM updated_at - finished_at)), 0)::float8
		FROM requests WHERE created_at >= $1 AND created_at < $2 AND finished_at IS NOT NULL`, to.Add(-10*time.Minute), to).Scan(&o.Recorded, &avg, &mx)
	o.LagAvg, o.LagMax = time.Duration(max(avg, 0)*float64(time.Second)), time.Duration(max(mx, 0)*float64(time.Second))
	return &o, interpretError(err)
}

// AuditLine is one row of the audit log.
type AuditLine struct {
	ID         int64
	At         time.Time
	Event      string
	Actor      string
	RequestID  *string
	UserID     *int64
	APIKeyID   *int64
	StatusCode *int
	Detail     string
}

// ListAudit returns up to limit audit lines older than the line before
// (all when before is 0), newest first.
func (s *Store) ListAudit(ctx context.Context, before int64, limit int) ([]AuditLine, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, at, event, actor, request_id, user_id, api_key_id, status_code, detail::text
		FROM audit_log WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []AuditLine
	for rows.Next() {
		var a AuditLine
		if err := rows.Scan(&a.ID, &a.At, &a.Event, &a.Actor, &a.RequestID, &a.UserID, &a.APIKeyID, &a.StatusCode, &a.Detail); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
