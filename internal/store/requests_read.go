package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reads of request history for the admin API: the paged list, one
// request in full, and the daily aggregates.

// RequestFilter selects requests for the admin list.
type RequestFilter struct {
	UserID, APIKeyID int64
	Model, Provider  string
	Status           string
	CorrelationID    string
	From, To         time.Time
	Limit            int
	Cursor           string
}

// RequestSummary is one row of the admin request list.
type RequestSummary struct {
	RequestID     string     `json:"request_id"`
	CorrelationID *string    `json:"correlation_id"`
	CreatedAt     time.Time  `json:"created_at"`
	UserID        *int64     `json:"user_id"`
	APIKeyID      *int64     `json:"api_key_id"`
	Model         string     `json:"model"`
	UpstreamModel *string    `json:"upstream_model"`
	Provider      *string    `json:"provider"`
	Format        string     `json:"format"`
	Stream        bool       `json:"stream"`
	WebSocket     bool       `json:"websocket"`
	Status        string     `json:"status"`
	StatusCode    *int       `json:"status_code"`
	ErrorClass    *string    `json:"error_class"`
	Attempts      int        `json:"attempts"`
	TotalTokens   int64      `json:"total_tokens"`
	CostUSD       *string    `json:"cost_usd"`
	FirstByteMS   *int       `json:"first_byte_ms"`
	TotalMS       *int       `json:"total_ms"`
	FinishedAt    *time.Time `json:"finished_at"`
}

const summaryColumns = `request_id, correlation_id, created_at, user_id, api_key_id, model, upstream_model, provider, api_format, stream, websocket,
	status, status_code, error_class, attempt_count, total_tokens, total_cost_usd::text, first_byte_ms, total_ms, finished_at`

func scanSummary(r pgx.Row, s *RequestSummary) error {
	return r.Scan(&s.RequestID, &s.CorrelationID, &s.CreatedAt, &s.UserID, &s.APIKeyID, &s.Model, &s.UpstreamModel, &s.Provider, &s.Format,
		&s.Stream, &s.WebSocket, &s.Status, &s.StatusCode, &s.ErrorClass, &s.Attempts, &s.TotalTokens, &s.CostUSD, &s.FirstByteMS,
		&s.TotalMS, &s.FinishedAt)
}

// ErrBadCursor is returned for a cursor this server did not issue.
var ErrBadCursor = errors.New("store: invalid cursor")

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	return t, id, nil
}

// ListRequests returns requests newest first, and the cursor of the next
// page ("" when there is none). Every filter is a bound parameter.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter) ([]RequestSummary, string, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var curT time.Time
	var curID string
	if f.Cursor != "" {
		var err error
		if curT, curID, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+summaryColumns+` FROM requests
		WHERE ($1 = 0 OR user_id = $1) AND ($2 = 0 OR api_key_id = $2) AND ($3 = '' OR model = $3)
		  AND ($4 = '' OR provider = $4) AND ($5 = '' OR status = $5) AND ($11 = '' OR correlation_id = $11)
		  AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
		  AND ($8::timestamptz IS NULL OR (created_at, request_id) < ($8, $9))
		ORDER BY created_at DESC, request_id DESC LIMIT $10`,
		f.UserID, f.APIKeyID, f.Model, f.Provider, f.Status, nullTime(f.From), nullTime(f.To), nullTime(curT), curID, limit+1, f.CorrelationID)
	if err != nil {
		return nil, "", interpretError(err)
	}
	defer rows.Close()
	var out []RequestSummary
	for rows.Next() {
		var r RequestSummary
		if err := scanSummary(rows, &r); err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = encodeCursor(last.CreatedAt, last.RequestID)
	}
	return out, next, nil
}

// RequestDetail is one request with everything recorded about it.
type RequestDetail struct {
	RequestSummary
	Usage struct {
		Input        int64 `json:"input_tokens"`
		CacheRead    int64 `json:"cache_read_tokens"`
		CacheWrite5m int64 `json:"cache_write_5m_tokens"`
		CacheWrite1h int64 `json:"cache_write_1h_tokens"`
		Output       int64 `json:"output_tokens"`
		Reasoning    int64 `json:"reasoning_tokens"`
	} `json:"usage"`
	Cost struct {
		Known      bool    `json:"known"`
		Input      *string `json:"input_usd"`
		Output     *string `json:"output_usd"`
		CacheRead  *string `json:"cache_read_usd"`
		CacheWrite *string `json:"cache_write_usd"`
		Request    *string `json:"request_usd"`
		Total      *string `json:"total_usd"`
		Actual     *string `json:"actual_usd"`
		Multiplier *string `json:"rate_multiplier"`
		Prices     any     `json:"prices"`
	} `json:"cost"`
	ErrorMessage  *string        `json:"error_message"`
	StatusHistory []StatusChange `json:"status_history"`
	// Trace is the plan and every attempt: one row per candidate.
	Trace []AttemptDetail `json:"trace"`
}

// StatusChange is when a request reached a status.
type StatusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// AttemptDetail is one row of a request's trace.
type AttemptDetail struct {
	CandidateIndex int     `json:"candidate_index"`
	Provider       *string `json:"provider"`
	ProviderKeyID  *int64  `json:"provider_key_id"`
	KeyName        *string `json:"key_name"`
	UpstreamModel  *string `json:"upstream_model"`
	// UpstreamAPI is the API a translated candidate called (issue 12);
	// null for passthrough.
	UpstreamAPI   *string    `json:"upstream_api"`
	Outcome       string     `json:"outcome"`
	SkippedReason *string    `json:"skipped_reason"`
	StatusCode    *int       `json:"status_code"`
	ErrorClass    *string    `json:"error_class"`
	LatencyMS     *int       `json:"latency_ms"`
	StartedAt     *time.Time `json:"started_at"`
}

// GetRequest returns one request with its usage, cost breakdown, status
// history and trace.
func (s *Store) GetRequest(ctx context.Context, id string) (*RequestDetail, error) {
	var d RequestDetail
	var streamingAt *time.Time
	var prices []byte
	row := s.Pool.QueryRow(ctx, `SELECT `+summaryColumns+`, input_tokens, cache_read_tokens, cache_write_5m_tokens,
		cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_known, input_cost_usd::text, output_cost_usd::text,
		cache_read_cost_usd::text, cache_write_cost_usd::text, request_cost_usd::text, total_cost_usd::text,
		actual_cost_usd::text, rate_multiplier::text, price_snapshot, error_message, streaming_at
		FROM requests WHERE request_id = $1`, id)
	err := row.Scan(&d.RequestID, &d.CorrelationID, &d.CreatedAt, &d.UserID, &d.APIKeyID, &d.Model, &d.UpstreamModel, &d.Provider, &d.Format,
		&d.Stream, &d.WebSocket, &d.Status, &d.StatusCode, &d.ErrorClass, &d.Attempts, &d.TotalTokens, &d.CostUSD, &d.FirstByteMS,
		&d.TotalMS, &d.FinishedAt, &d.Usage.Input, &d.Usage.CacheRead, &d.Usage.CacheWrite5m, &d.Usage.CacheWrite1h,
		&d.Usage.Output, &d.Usage.Reasoning, &d.Cost.Known, &d.Cost.Input, &d.Cost.Output, &d.Cost.CacheRead,
		&d.Cost.CacheWrite, &d.Cost.Request, &d.Cost.Total, &d.Cost.Actual, &d.Cost.Multiplier, &prices,
		&d.ErrorMessage, &streamingAt)
	if err != nil {
		return nil, interpretError(err)
	}
	if len(prices) > 0 {
		d.Cost.Prices = jsonRaw(prices)
	}
	d.StatusHistory = append(d.StatusHistory, StatusChange{Status: "pending", At: d.CreatedAt})
	if streamingAt != nil {
		d.StatusHistory = append(d.StatusHistory, StatusChange{Status: "streaming", At: *streamingAt})
	}
	if d.FinishedAt != nil {
		d.StatusHistory = append(d.StatusHistory, StatusChange{Status: d.Status, At: *d.FinishedAt})
	}
	rows, err := s.Pool.Query(ctx, `SELECT a.candidate_index, p.name, a.provider_key_id, k.name, a.upstream_model, a.upstream_api, a.outcome,
		a.skipped_reason, a.status_code, a.error_class, a.latency_ms, a.started_at
		FROM request_attempts a LEFT JOIN providers p ON p.id = a.provider_id LEFT JOIN provider_keys k ON k.id = a.provider_key_id
		WHERE a.request_id = $1 ORDER BY a.seq`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AttemptDetail
		if err := rows.Scan(&a.CandidateIndex, &a.Provider, &a.ProviderKeyID, &a.KeyName, &a.UpstreamModel, &a.UpstreamAPI, &a.Outcome,
			&a.SkippedReason, &a.StatusCode, &a.ErrorClass, &a.LatencyMS, &a.StartedAt); err != nil {
			return nil, err
		}
		d.Trace = append(d.Trace, a)
	}
	return &d, rows.Err()
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

// Aggregate is one group of the aggregates endpoint.
type Aggregate struct {
	Day          string `json:"day"`
	Group        string `json:"group"`
	Requests     int64  `json:"requests"`
	Failed       int64  `json:"failed"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CacheTokens  int64  `json:"cache_tokens"`
	TotalTokens  int64  `json:"total_tokens"`
	CostUSD      string `json:"cost_usd"`
}

// Aggregates sums requests, tokens and cost per UTC day and per model,
// user or provider over [from, to). A day inside the range that is rolled
// up and unchanged since comes from request_stats_daily (its requests may
// be deleted by then); every other day is summed from the requests
// themselves, so a row recorded late is counted at once.
func (s *Store) Aggregates(ctx context.Context, groupBy string, from, to time.Time) ([]Aggregate, error) {
	var rawCol, statCol string
	switch groupBy {
	case "model":
		rawCol, statCol = "model", "model"
	case "user":
		rawCol, statCol = "coalesce(user_id, 0)::text", "user_id::text"
	case "provider":
		rawCol, statCol = "coalesce(provider, '')", "provider"
	default:
		return nil, fmt.Errorf("%w: group_by must be model, user or provider", ErrInvalid)
	}
	// Column names come from the switch above, never from input.
	sql := `WITH covered AS (
			SELECT day FROM request_rollup_days
			WHERE NOT dirty AND day::timestamp AT TIME ZONE 'UTC' >= $1::timestamptz AND (day + 1)::timestamp AT TIME ZONE 'UTC' <= $2::timestamptz)
		SELECT day::text, grp, sum(requests), sum(failed), sum(input_tokens), sum(output_tokens), sum(cache_tokens), sum(total_tokens), sum(cost_usd)::numeric(24, 12)::text
		FROM (
			SELECT s.day, ` + statCol + ` AS grp, requests, failed, input_tokens, output_tokens, cache_tokens, total_tokens, cost_usd
			FROM request_stats_daily s JOIN covered c ON c.day = s.day
			UNION ALL
			SELECT (created_at AT TIME ZONE 'UTC')::date, ` + rawCol + `, 1, (status <> 'completed')::int, input_tokens, output_tokens,
				cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens, total_tokens, coalesce(total_cost_usd, 0)
			FROM requests WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
			  AND (created_at AT TIME ZONE 'UTC')::date NOT IN (SELECT day FROM covered)
		) t GROUP BY day, grp ORDER BY day, grp`
	rows, err := s.Pool.Query(ctx, sql, from, to)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []Aggregate
	for rows.Next() {
		var a Aggregate
		if err := rows.Scan(&a.Day, &a.Group, &a.Requests, &a.Failed, &a.InputTokens, &a.OutputTokens, &a.CacheTokens, &a.TotalTokens, &a.CostUSD); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
