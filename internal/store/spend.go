package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/llm"
)

// PricingFacts is what pricing needs from configuration for one request.
type PricingFacts struct {
	Price          *Price // nil when neither an override nor a model price exists
	Multiplier     llm.Micros
	FreeTier       bool
	Provider       string
	EndpointFormat string
	// Entry is the configured model the name resolved to: the exact model
	// or the pattern serving it (issue 10); "" when none does. Unlike the
	// requested name it is bounded by configuration (a metric label).
	Entry string
}

// PricingFor reads the price of model on providerID (the provider override
// first, then the model's own price) and the provider key's rate multiplier.
func (s *Store) PricingFor(ctx context.Context, model string, providerID, keyID int64) (PricingFacts, error) {
	f := PricingFacts{Multiplier: 1_000_000}
	if keyID != 0 {
		var mult string
		err := s.Pool.QueryRow(ctx, `SELECT k.rate_multiplier::text, k.free_tier, p.name FROM provider_keys k
			JOIN providers p ON p.id = k.provider_id WHERE k.id = $1`, keyID).Scan(&mult, &f.FreeTier, &f.Provider)
		// A key deleted since the request ran costs at the plain rate.
		switch err = interpretError(err); {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return f, err
		default:
			if f.Multiplier, err = llm.ParseMicros(mult); err != nil {
				return f, err
			}
		}
	}
	modelID, entry, err := s.pricedModel(ctx, model)
	if err != nil || modelID == 0 {
		return f, err
	}
	f.Entry = entry
	prices, err := collectArgs(ctx, s.Pool, priceColumns+` FROM prices
		WHERE model_id = $1 AND (provider_id = $2 OR provider_id IS NULL)
		ORDER BY provider_id NULLS LAST LIMIT 1`, scanPrice, modelID, providerID)
	if err != nil {
		return f, interpretError(err)
	}
	if len(prices) > 0 {
		f.Price = &prices[0]
	}
	return f, nil
}

// pricedModel is the ID and name of the model whose price a request
// recorded under name pays: the model called name or, when there is none,
// the pattern that serves it, chosen as catalog.Snapshot.Model chooses
// (issue 10). 0 means no model.
func (s *Store) pricedModel(ctx context.Context, name string) (int64, string, error) {
	var id int64
	err := interpretError(s.Pool.QueryRow(ctx, `SELECT id FROM models WHERE name = $1`, name).Scan(&id))
	if !errors.Is(err, ErrNotFound) {
		return id, name, err
	}
	type entry struct {
		id   int64
		name string
	}
	patterns, err := collectArgs(ctx, s.Pool, `SELECT id, name FROM models WHERE active AND name ~ '[*?\[\\]' ORDER BY id`,
		func(r pgx.Rows) (entry, error) {
			var e entry
			return e, r.Scan(&e.id, &e.name)
		})
	if err != nil {
		return 0, "", interpretError(err)
	}
	slices.SortStableFunc(patterns, func(a, b entry) int { return llm.ComparePatterns(a.name, b.name) })
	for _, p := range patterns {
		if llm.MatchModel(p.name, name) {
			return p.id, p.name, nil
		}
	}
	return 0, "", nil
}

// Spend returns the spend of users and gateway keys that have a budget,
// and which of the given request IDs are already recorded (so a replica
// stops adding their cost on top).
func (s *Store) Spend(ctx context.Context, requestIDs []string) (users, keys map[int64]llm.PicoUSD, recorded []string, err error) {
	read := func(sql string) (map[int64]llm.PicoUSD, error) {
		rows, err := s.Pool.Query(ctx, sql)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[int64]llm.PicoUSD{}
		for rows.Next() {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return nil, err
			}
			if out[id], err = llm.ParsePicoUSD(v); err != nil {
				return nil, err
			}
		}
		return out, rows.Err()
	}
	if users, err = read(`SELECT id, spend_usd::text FROM users WHERE budget_usd IS NOT NULL`); err != nil {
		return nil, nil, nil, interpretError(err)
	}
	if keys, err = read(`SELECT id, spend_usd::text FROM api_keys WHERE budget_usd IS NOT NULL`); err != nil {
		return nil, nil, nil, interpretError(err)
	}
	if len(requestIDs) > 0 {
		rows, err := s.Pool.Query(ctx, `SELECT request_id FROM requests WHERE request_id = ANY($1) AND status IN ('completed', 'failed', 'cancelled')`, requestIDs)
		if err != nil {
			return nil, nil, nil, interpretError(err)
		}
		recorded, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, nil, nil, interpretError(err)
		}
	}
	return users, keys, recorded, nil
}

// ResetMonthlySpend zeroes the spend of users and gateway keys with a
// monthly budget, at most once per calendar month (UTC), so a retried or
// repeated run changes nothing.
func (s *Store) ResetMonthlySpend(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, table := range []string{"users", "api_keys"} {
			// Table names from the fixed list above.
			tag, err := tx.Exec(ctx, `UPDATE `+table+` SET spend_usd = 0, spend_reset_at = $1
				WHERE budget_period = 'monthly' AND (spend_reset_at IS NULL OR spend_reset_at < date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`, now)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	return total, interpretError(err)
}
