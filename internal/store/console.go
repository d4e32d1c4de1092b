package store

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// HourStats is one hour of the console's overview.
type HourStats struct {
	Hour     time.Time
	Requests int64
	Failed   int64
	Tokens   int64
	CostUSD  float64
}

// GroupStats is one model, user (its ID as text) or provider of the
// overview's top lists. Failed counts every status but completed, as the
// admin API's aggregates do.
type GroupStats struct {
	Group    string
	Requests int64
	Failed   int64
	Tokens   int64
	CostUSD  float64
}

// Overview is the console's summary of requests created in [from, to).
type Overview struct {
	Requests, Failed, Tokens int64
	CostUSD                  float64
	// P50MS and P95MS are the upper bounds of the latency buckets
	// (latencyBounds) that hold the median and the 95th percentile.
	P50MS, P95MS             float64
	Hours                    []HourStats
	Models, Users, Providers []GroupStats
	// LagAvg and LagMax are the worker's recording lag (from a request's
	// end to its row's last write) over the requests created in the ten
	// minutes before to; Recorded counts those requests.
	LagAvg, LagMax time.Duration
	Recorded       int64
}

// latencyBounds are the total-latency bucket bounds in milliseconds of
// request_latency_hourly: bucket i (width_bucket's index) holds latencies
// in [latencyBounds[i-1], latencyBounds[i]).
var latencyBounds = []int64{25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000,
	7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000, 600000}

// addToHours adds the finished requests among ids to request_stats_hourly
// and request_latency_hourly. RecordFinal calls it in the transaction that
// moves a request to its final status, so each request is added once.
func addToHours(ctx context.Context, tx pgx.Tx, ids []string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO request_stats_hourly AS h (hour, model, user_id, provider, requests, failed, not_completed, total_tokens, cost_usd)
		SELECT date_trunc('hour', created_at), model, coalesce(user_id, 0), coalesce(provider, ''), count(*),
			count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status <> 'completed'),
			coalesce(sum(total_tokens), 0), coalesce(sum(total_cost_usd), 0)
		FROM requests WHERE request_id = ANY($1) AND status NOT IN ('pending', 'streaming')
		GROUP BY 1, 2, 3, 4
		ON CONFLICT (hour, model, user_id, provider) DO UPDATE SET requests = h.requests + EXCLUDED.requests,
			failed = h.failed + EXCLUDED.failed, not_completed = h.not_completed + EXCLUDED.not_completed,
			total_tokens = h.total_tokens + EXCLUDED.total_tokens, cost_usd = h.cost_usd + EXCLUDED.cost_usd`, ids); err != nil {
		return interpretError(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO request_latency_hourly AS h (hour, bucket, requests)
		SELECT date_trunc('hour', created_at), width_bucket(total_ms, $2::bigint[]), count(*)
		FROM requests WHERE request_id = ANY($1) AND status NOT IN ('pending', 'streaming') AND total_ms IS NOT NULL
		GROUP BY 1, 2
		ON CONFLICT (hour, bucket) DO UPDATE SET requests = h.requests + EXCLUDED.requests`, ids, latencyBounds)
	return interpretError(err)
}

// AddToHours adds finished request rows that were written without
// RecordFinal (a bulk load) to the overview's hourly sums. Adding a request
// twice counts it twice.
func (s *Store) AddToHours(ctx context.Context, ids []string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return addToHours(ctx, tx, ids) })
}

// ConsoleOverview sums the requests created in the hours from from's hour
// up to to, per hour and per model, user and provider, with the median
// and 95th percentile of their total latency to the bucket. Finished
// requests come from the hourly sums RecordFinal keeps (request_stats_hourly),
// so a busy day costs the same as a quiet one; requests still in flight
// are counted from their rows.
func (s *Store) ConsoleOverview(ctx context.Context, from, to time.Time) (*Overview, error) {
	from = from.Truncate(time.Hour)
	rows, err := s.Pool.Query(ctx, `SELECT hour, sum(r)::bigint, sum(f)::bigint, sum(t)::bigint, sum(c)::float8 FROM (
			SELECT hour, requests AS r, failed AS f, total_tokens AS t, cost_usd AS c
			FROM request_stats_hourly WHERE hour >= $1 AND hour < $2
			UNION ALL
			SELECT date_trunc('hour', created_at), 1, 0, total_tokens, coalesce(total_cost_usd, 0)
			FROM requests WHERE status IN ('pending', 'streaming') AND created_at >= $1 AND created_at < $2
		) x GROUP BY hour ORDER BY hour`, from, to)
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
	for _, g := range []struct {
		col string
		out *[]GroupStats
	}{{"model", &o.Models}, {"user_id::text", &o.Users}, {"provider", &o.Providers}} {
		// Column names come from the list above, never from input.
		rows, err := s.Pool.Query(ctx, `SELECT grp, sum(r)::bigint, sum(f)::bigint, sum(t)::bigint, sum(c)::float8 FROM (
				SELECT `+g.col+` AS grp, requests AS r, not_completed AS f, total_tokens AS t, cost_usd AS c
				FROM request_stats_hourly WHERE hour >= $1 AND hour < $2
				UNION ALL
				SELECT `+g.col+`, 1, 1, total_tokens, coalesce(total_cost_usd, 0)
				FROM (SELECT model, coalesce(user_id, 0) AS user_id, coalesce(provider, '') AS provider, total_tokens, total_cost_usd
					FROM requests WHERE status IN ('pending', 'streaming') AND created_at >= $1 AND created_at < $2) p
			) x GROUP BY grp ORDER BY 2 DESC, 1 LIMIT 5`, from, to)
		if err != nil {
			return nil, interpretError(err)
		}
		if *g.out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[GroupStats]); err != nil {
			return nil, interpretError(err)
		}
	}
	rows, err = s.Pool.Query(ctx, `SELECT bucket, sum(requests)::bigint FROM request_latency_hourly
		WHERE hour >= $1 AND hour < $2 GROUP BY bucket ORDER BY bucket`, from, to)
	if err != nil {
		return nil, interpretError(err)
	}
	buckets, err := pgx.CollectRows(rows, pgx.RowToStructByPos[latencyBucket])
	if err != nil {
		return nil, interpretError(err)
	}
	o.P50MS, o.P95MS = bucketPercentile(buckets, 0.5), bucketPercentile(buckets, 0.95)
	var avg, mx float64
	err = s.Pool.QueryRow(ctx, `SELECT count(*), coalesce(avg(extract(epoch FROM updated_at - finished_at)), 0)::float8,
		coalesce(max(extract(epoch FROM updated_at - finished_at)), 0)::float8
		FROM requests WHERE created_at >= $1 AND created_at < $2 AND finished_at IS NOT NULL`, to.Add(-10*time.Minute), to).Scan(&o.Recorded, &avg, &mx)
	o.LagAvg, o.LagMax = time.Duration(max(avg, 0)*float64(time.Second)), time.Duration(max(mx, 0)*float64(time.Second))
	return &o, interpretError(err)
}

// latencyBucket is one row of request_latency_hourly summed over hours.
type latencyBucket struct{ I, N int64 }

// bucketPercentile is the upper bound of the latency bucket holding the
// q-th percentile (percentile_disc's rank), or the last bound for the
// bucket above it; 0 without requests.
func bucketPercentile(buckets []latencyBucket, q float64) float64 {
	var total int64
	for _, b := range buckets {
		total += b.N
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for _, b := range buckets {
		seen += b.N
		if seen >= rank {
			return float64(latencyBounds[min(int(b.I), len(latencyBounds)-1)])
		}
	}
	return float64(latencyBounds[len(latencyBounds)-1])
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
