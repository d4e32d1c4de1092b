package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/llm"
)

// The writes in this file are made by the request workflow's activities.
// Each is idempotent on the request ID (and candidate index): a retried or
// replayed activity changes nothing it already changed, and spend counters
// move exactly once, guarded by the request row's own status transition.

// RequestProgress is a request's state before its final event.
type RequestProgress struct {
	Meta        llm.RequestMeta
	Plan        []llm.Candidate
	Status      llm.Status // pending or streaming
	FirstByteAt time.Time
}

// RecordProgress inserts the request row and its plan, or moves the status
// forward. A status never moves back.
func (s *Store) RecordProgress(ctx context.Context, p RequestProgress) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := markDayChanged(ctx, tx, p.Meta.ReceivedAt); err != nil {
			return err
		}
		if err := upsertHead(ctx, tx, p.Meta, p.Status, p.FirstByteAt); err != nil {
			return err
		}
		return insertPlan(ctx, tx, p.Meta.RequestID, p.Plan)
	})
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func upsertHead(ctx context.Context, tx pgx.Tx, m llm.RequestMeta, status llm.Status, firstByteAt time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO requests (request_id, user_id, api_key_id, model, api_format, operation, stream, status, created_at, streaming_at, correlation_id, websocket)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nullif($11, ''), $12)
		ON CONFLICT (request_id) DO UPDATE SET
			status = CASE WHEN requests.status = 'pending' AND EXCLUDED.status <> 'pending' THEN EXCLUDED.status ELSE requests.status END,
			streaming_at = coalesce(requests.streaming_at, EXCLUDED.streaming_at),
			updated_at = now()`,
		m.RequestID, m.UserID, m.APIKeyID, m.Model, string(m.Format), string(m.Operation), m.Stream, string(status),
		m.ReceivedAt, nullTime(firstByteAt), m.CorrelationID, m.WebSocket)
	return interpretError(err)
}

func insertPlan(ctx context.Context, tx pgx.Tx, requestID string, plan []llm.Candidate) error {
	if len(plan) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, c := range plan {
		outcome, reason := "planned", any(nil)
		if c.SkippedReason != "" {
			outcome, reason = "skipped", c.SkippedReason
		}
		batch.Queue(`INSERT INTO request_attempts (request_id, seq, candidate_index, provider_id, endpoint_id, provider_key_id, upstream_model, outcome, skipped_reason, upstream_api)
			VALUES ($1, $2, $2, $3, nullif($4, 0), $5, $6, $7, $8, nullif($9, '')) ON CONFLICT (request_id, seq) DO NOTHING`,
			requestID, c.Index, c.ProviderID, c.EndpointID, c.KeyID, c.UpstreamModel, outcome, reason, c.UpstreamAPI)
	}
	return interpretError(tx.SendBatch(ctx, batch).Close())
}

// FinalRecord is everything written when a request ends.
type FinalRecord struct {
	Meta        llm.RequestMeta
	Plan        []llm.Candidate
	FirstByteAt time.Time
	Outcome     llm.Outcome
	// Answering candidate, resolved by the caller (zero when none).
	ProviderID    int64
	Provider      string
	EndpointID    int64
	ProviderKeyID int64
	UpstreamModel string
	Cost          *Cost // nil: cost unknown (no price for the model)
}

// Cost is the priced usage as written to the request row.
type Cost struct {
	Input, Output, CacheRead, CacheWrite, Request, Total, Actual llm.PicoUSD
	Multiplier                                                   llm.Micros
	Snapshot                                                     json.RawMessage
}

// FinalResult reports what RecordFinal found or did.
type FinalResult struct {
	// Applied is true when this call moved the request to its final
	// status; false when an earlier call already had.
	Applied bool
	Status  llm.Status
}

func picoArg(v llm.PicoUSD) string { return v.String() }

// RecordFinal writes the request's final state, its attempts, the spend
// counters, the overview's hourly sums, the provider keys' health and the
// audit line, in one transaction. Only the call that moves the row to a final status touches
// counters, so retries and duplicate events never double-count.
func (s *Store) RecordFinal(ctx context.Context, f FinalRecord) (FinalResult, error) {
	var res FinalResult
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		res = FinalResult{}
		if err := markDayChanged(ctx, tx, f.Meta.ReceivedAt); err != nil {
			return err
		}
		if err := upsertHead(ctx, tx, f.Meta, llm.StatusPending, f.FirstByteAt); err != nil {
			return err
		}
		if err := insertPlan(ctx, tx, f.Meta.RequestID, f.Plan); err != nil {
			return err
		}
		o := f.Outcome
		u := o.Usage
		var costArgs [9]any
		if f.Cost != nil {
			c := f.Cost
			costArgs = [9]any{true, picoArg(c.Input), picoArg(c.Output), picoArg(c.CacheRead), picoArg(c.CacheWrite),
				picoArg(c.Request), picoArg(c.Total), picoArg(c.Actual), []byte(c.Snapshot)}
		} else {
			costArgs[0] = false
		}
		var mult any
		if f.Cost != nil {
			mult = f.Cost.Multiplier.String()
		}
		var firstByteMS any
		if o.FirstByte > 0 {
			firstByteMS = o.FirstByte.Milliseconds()
		}
		tag, err := tx.Exec(ctx, `
			UPDATE requests SET status = $2, status_code = $3, error_class = nullif($4, ''), error_message = nullif($5, ''),
				attempt_count = $6, upstream_model = nullif($7, ''), provider_id = nullif($8, 0), provider = nullif($9, ''),
				endpoint_id = nullif($10, 0), provider_key_id = nullif($11, 0),
				input_tokens = $12, cache_read_tokens = $13, cache_write_5m_tokens = $14, cache_write_1h_tokens = $15,
				output_tokens = $16, reasoning_tokens = $17, total_tokens = $18,
				cost_known = $19, input_cost_usd = $20::numeric, output_cost_usd = $21::numeric,
				cache_read_cost_usd = $22::numeric, cache_write_cost_usd = $23::numeric, request_cost_usd = $24::numeric,
				total_cost_usd = $25::numeric, actual_cost_usd = $26::numeric, price_snapshot = $27, rate_multiplier = $28::numeric,
				first_byte_ms = $29, total_ms = $30, finished_at = $31,
				streaming_at = coalesce(streaming_at, $32), updated_at = now()
			WHERE request_id = $1 AND status IN ('pending', 'streaming')`,
			f.Meta.RequestID, string(o.Status), o.StatusCode, string(o.ErrorClass), truncate(o.ErrorMessage, 500),
			len(o.Attempts), f.UpstreamModel, f.ProviderID, f.Provider, f.EndpointID, f.ProviderKeyID,
			u.InputTokens, u.CacheReadTokens, u.CacheWrite5mTokens, u.CacheWrite1hTokens, u.OutputTokens, u.ReasoningTokens, u.TotalTokens(),
			costArgs[0], costArgs[1], costArgs[2], costArgs[3], costArgs[4], costArgs[5], costArgs[6], costArgs[7], costArgs[8], mult,
			firstByteMS, o.Total.Milliseconds(), o.FinishedAt, nullTime(f.FirstByteAt))
		if err != nil {
			return interpretError(err)
		}
		if tag.RowsAffected() == 0 {
			// Already final: an earlier call did everything below.
			return tx.QueryRow(ctx, `SELECT status FROM requests WHERE request_id = $1`, f.Meta.RequestID).Scan(&res.Status)
		}
		res.Applied, res.Status = true, o.Status
		if err := recordAttempts(ctx, tx, f.Meta.RequestID, o); err != nil {
			return err
		}
		if err := addToHours(ctx, tx, []string{f.Meta.RequestID}); err != nil {
			return err
		}
		if f.Cost != nil && f.Cost.Total > 0 {
			if _, err := tx.Exec(ctx, `UPDATE users SET spend_usd = spend_usd + $2::numeric WHERE id = $1`, f.Meta.UserID, picoArg(f.Cost.Total)); err != nil {
				return interpretError(err)
			}
			if _, err := tx.Exec(ctx, `UPDATE api_keys SET spend_usd = spend_usd + $2::numeric WHERE id = $1`, f.Meta.APIKeyID, picoArg(f.Cost.Total)); err != nil {
				return interpretError(err)
			}
		}
		if err := recordHealth(ctx, tx, o); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{
			"model": f.Meta.Model, "provider": f.Provider, "format": f.Meta.Format, "stream": f.Meta.Stream,
			"attempts": len(o.Attempts), "error_class": o.ErrorClass, "total_tokens": u.TotalTokens(),
		})
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (at, event, actor, request_id, user_id, api_key_id, status_code, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id, event) WHERE request_id IS NOT NULL DO NOTHING`,
			o.FinishedAt, "request_"+string(o.Status), fmt.Sprintf("api_key:%d", f.Meta.APIKeyID), f.Meta.RequestID,
			f.Meta.UserID, f.Meta.APIKeyID, o.StatusCode, detail)
		return interpretError(err)
	})
	return res, err
}

func recordAttempts(ctx context.Context, tx pgx.Tx, requestID string, o llm.Outcome) error {
	batch := &pgx.Batch{}
	for _, a := range o.Attempts {
		batch.Queue(`UPDATE request_attempts SET outcome = $3, status_code = nullif($4, 0), error_class = nullif($5, ''),
				latency_ms = $6, started_at = $7 WHERE request_id = $1 AND seq = $2`,
			requestID, a.CandidateIndex, a.Outcome, a.StatusCode, string(a.ErrorClass), a.Latency.Milliseconds(), a.StartedAt)
	}
	batch.Queue(`UPDATE request_attempts SET outcome = 'not_tried' WHERE request_id = $1 AND outcome = 'planned'`, requestID)
	return interpretError(tx.SendBatch(ctx, batch).Close())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
