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

// Deletes by name. Each returns ErrNotFound when nothing matched. Child
// rows (endpoints, keys, routes, prices, gateway keys) go with their
// parent (ON DELETE CASCADE); request history keeps its IDs.

// DeleteProvider deletes a provider with its endpoints, keys and routes.
func (s *Store) DeleteProvider(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM providers WHERE name = $1`, name)
}

// DeleteEndpoint deletes one endpoint of a provider.
func (s *Store) DeleteEndpoint(ctx context.Context, provider, name string) error {
	return s.deleteOne(ctx, `DELETE FROM endpoints WHERE name = $2 AND provider_id = (SELECT id FROM providers WHERE name = $1)`, provider, name)
}

// DeleteProviderKey deletes one key of a provider.
func (s *Store) DeleteProviderKey(ctx context.Context, provider, name string) error {
	return s.deleteOne(ctx, `DELETE FROM provider_keys WHERE name = $2 AND provider_id = (SELECT id FROM providers WHERE name = $1)`, provider, name)
}

// DeleteModel deletes a model with its routes and prices.
func (s *Store) DeleteModel(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM models WHERE name = $1`, name)
}

// DeletePrice deletes a model's price (its default one when provider is "").
func (s *Store) DeletePrice(ctx context.Context, model, provider string) error {
	return s.deleteOne(ctx, `DELETE FROM prices WHERE model_id = (SELECT id FROM models WHERE name = $1)
		AND provider_id IS NOT DISTINCT FROM (SELECT id FROM providers WHERE name = nullif($2, ''))`, model, provider)
}

// DeleteUser deletes a user with their gateway keys.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM users WHERE name = $1`, name)
}

// DeleteAPIKey deletes a gateway key.
func (s *Store) DeleteAPIKey(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM api_keys WHERE name = $1`, name)
}

func (s *Store) deleteOne(ctx context.Context, sql string, args ...any) error {
	tag, err := s.Pool.Exec(ctx, sql, args...)
	if err != nil {
		return interpretError(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Exists reports whether a provider, model or user (table) has name, or a
// gateway key (api_keys).
func (s *Store) Exists(ctx context.Context, table, name string) (bool, error) {
	var sql string
	switch table {
	case "providers":
		sql = `SELECT EXISTS (SELECT 1 FROM providers WHERE name = $1)`
	case "models":
		sql = `SELECT EXISTS (SELECT 1 FROM models WHERE name = $1 OR $1 = ANY(aliases))`
	case "users":
		sql = `SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)`
	case "api_keys":
		sql = `SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = $1)`
	default:
		return false, errors.New("store: Exists: unknown table " + table)
	}
	var ok bool
	err := s.Pool.QueryRow(ctx, sql, name).Scan(&ok)
	return ok, interpretError(err)
}

// ProviderKeyExists reports whether provider has a key called name.
func (tx *Tx) ProviderKeyExists(ctx context.Context, providerID int64, name string) (bool, error) {
	var ok bool
	err := tx.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM provider_keys WHERE provider_id = $1 AND name = $2)`, providerID, name).Scan(&ok)
	return ok, interpretError(err)
}

// UpdateProviderKeySettings changes a key's settings but not its secret.
func (tx *Tx) UpdateProviderKeySettings(ctx context.Context, k ProviderKey) error {
	tag, err := tx.q.Exec(ctx, `UPDATE provider_keys SET priority = $3, global_priority = $4, rate_multiplier = $5::numeric,
		free_tier = $6, allowed_models = $7, max_concurrent = $8, active = $9, updated_at = now()
		WHERE provider_id = $1 AND name = $2`,
		k.ProviderID, k.Name, k.Priority, k.GlobalPriority, k.RateMultiplier.String(), k.FreeTier, k.AllowedModels, k.MaxConcurrent, k.Active)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return interpretError(err)
}

// UpdateAPIKeySettings changes a gateway key's owner, restrictions and
// budget, but never the key itself.
func (tx *Tx) UpdateAPIKeySettings(ctx context.Context, k APIKey) error {
	tag, err := tx.q.Exec(ctx, `UPDATE api_keys SET user_id = $2, active = $3, expires_at = $4, allowed_models = $5,
		allowed_providers = $6, allowed_formats = $7, budget_usd = $8::numeric, budget_period = $9, rpm_limit = $10, updated_at = now()
		WHERE name = $1`,
		k.Name, k.UserID, k.Active, k.ExpiresAt, k.AllowedModels, k.AllowedProviders, k.AllowedFormats,
		microsArg(k.BudgetUSD), defaultPeriod(k.BudgetPeriod), k.RPMLimit)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return interpretError(err)
}

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

const summaryColumns = `request_id, correlation_id, created_at, user_id, api_key_id, model, upstream_model, provider, api_format, stream,
	status, status_code, error_class, attempt_count, total_tokens, total_cost_usd::text, first_byte_ms, total_ms, finished_at`

func scanSummary(r pgx.Row, s *RequestSummary) error {
	return r.Scan(&s.RequestID, &s.CorrelationID, &s.CreatedAt, &s.UserID, &s.APIKeyID, &s.Model, &s.UpstreamModel, &s.Provider, &s.Format,
		&s.Stream, &s.Status, &s.StatusCode, &s.ErrorClass, &s.Attempts, &s.TotalTokens, &s.CostUSD, &s.FirstByteMS,
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
	CandidateIndex int        `json:"candidate_index"`
	Provider       *string    `json:"provider"`
	ProviderKeyID  *int64     `json:"provider_key_id"`
	KeyName        *string    `json:"key_name"`
	UpstreamModel  *string    `json:"upstream_model"`
	Outcome        string     `json:"outcome"`
	SkippedReason  *string    `json:"skipped_reason"`
	StatusCode     *int       `json:"status_code"`
	ErrorClass     *string    `json:"error_class"`
	LatencyMS      *int       `json:"latency_ms"`
	StartedAt      *time.Time `json:"started_at"`
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
		&d.Stream, &d.Status, &d.StatusCode, &d.ErrorClass, &d.Attempts, &d.TotalTokens, &d.CostUSD, &d.FirstByteMS,
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
	rows, err := s.Pool.Query(ctx, `SELECT a.candidate_index, p.name, a.provider_key_id, k.name, a.upstream_model, a.outcome,
		a.skipped_reason, a.status_code, a.error_class, a.latency_ms, a.started_at
		FROM request_attempts a LEFT JOIN providers p ON p.id = a.provider_id LEFT JOIN provider_keys k ON k.id = a.provider_key_id
		WHERE a.request_id = $1 ORDER BY a.seq`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AttemptDetail
		if err := rows.Scan(&a.CandidateIndex, &a.Provider, &a.ProviderKeyID, &a.KeyName, &a.UpstreamModel, &a.Outcome,
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

// GatewayKeyIDByName returns a gateway key's ID.
func (s *Store) GatewayKeyIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.Pool.QueryRow(ctx, `SELECT id FROM api_keys WHERE name = $1`, name).Scan(&id)
	return id, interpretError(err)
}

// UserIDByName returns a user's ID.
func (s *Store) UserIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.Pool.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&id)
	return id, interpretError(err)
}
