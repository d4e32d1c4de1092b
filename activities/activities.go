// Package activities holds the worker's activities, the only code that
// writes accounting to Postgres: the request workflow's RecordProgress and
// RecordFinal, idempotent on the request ID, and the housekeeping batches
// (retention cleanup, daily rollup, monthly budget reset), each safe to run
// again. Temporal may retry or replay any of them freely.
package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/store"
)

// ErrInvalidInput is the non-retryable error type for inputs no retry can
// fix.
const ErrInvalidInput = "InvalidInput"

// Activities holds the activities' dependencies.
type Activities struct {
	Store *store.Store
	// Prices is the embedded default price table, used for models that
	// have no price in the database.
	Prices pricing.Table
	Logger *slog.Logger
	// UnpricedHook, if set, is called for a request whose model has no
	// price, with the configured model's name (a pattern for the names it
	// serves).
	UnpricedHook func(model string)
	// DeletedHook, if set, is told how many rows a retention batch deleted.
	DeletedHook func(table string, n int64)
	// ResultHook, if set, is told how each accounting activity ended.
	ResultHook func(activity string, err error)
}

// ProgressInput is a request that has not ended yet.
type ProgressInput struct {
	Meta        llm.RequestMeta
	Plan        []llm.Candidate
	Status      llm.Status
	FirstByteAt time.Time // zero when no byte was sent yet
}

func invalid(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrInvalidInput, nil)
}

func (a *Activities) result(name string, err error) {
	if a.ResultHook != nil {
		a.ResultHook(name, err)
	}
}

// RecordProgress writes the request row (pending or streaming) and its plan.
func (a *Activities) RecordProgress(ctx context.Context, in ProgressInput) (err error) {
	defer func() { a.result("RecordProgress", err) }()
	if in.Meta.RequestID == "" {
		return invalid("request ID is empty")
	}
	return a.Store.RecordProgress(ctx, store.RequestProgress{Meta: in.Meta, Plan: in.Plan, Status: in.Status, FirstByteAt: in.FirstByteAt})
}

// FinalInput is a request that ended.
type FinalInput struct {
	Meta        llm.RequestMeta
	Plan        []llm.Candidate
	FirstByteAt time.Time
	Outcome     llm.Outcome
}

// FinalResult is what the workflow shows in search attributes and memo.
type FinalResult struct {
	Status      llm.Status
	Provider    string
	TotalTokens int64
	CostKnown   bool
	CostUSD     float64
	// Applied is false when an earlier execution had already recorded it.
	Applied bool
}

// RecordFinal prices the usage and writes the final row, attempts, spend,
// key health and audit line in one transaction.
func (a *Activities) RecordFinal(ctx context.Context, in FinalInput) (res FinalResult, err error) {
	defer func() { a.result("RecordFinal", err) }()
	if in.Meta.RequestID == "" {
		return FinalResult{}, invalid("request ID is empty")
	}
	if !in.Outcome.Status.Final() {
		return FinalResult{}, invalid("outcome status " + string(in.Outcome.Status) + " is not final")
	}
	rec := store.FinalRecord{Meta: in.Meta, Plan: in.Plan, FirstByteAt: in.FirstByteAt, Outcome: in.Outcome}
	if c, ok := in.Outcome.Answered(in.Plan); ok {
		rec.ProviderID, rec.Provider, rec.EndpointID, rec.ProviderKeyID, rec.UpstreamModel = c.ProviderID, c.Provider, c.EndpointID, c.KeyID, c.UpstreamModel
	}
	res = FinalResult{Status: in.Outcome.Status, Provider: rec.Provider, TotalTokens: in.Outcome.Usage.TotalTokens()}
	if rec.ProviderID != 0 {
		cost, err := a.price(ctx, in, rec)
		if err != nil {
			return FinalResult{}, err
		}
		rec.Cost = cost
	}
	if rec.Cost != nil {
		res.CostKnown, res.CostUSD = true, rec.Cost.Total.USD()
	}
	out, err := a.Store.RecordFinal(ctx, rec)
	if err != nil {
		return FinalResult{}, err
	}
	res.Applied = out.Applied
	if !out.Applied {
		res.Status = out.Status
	}
	return res, nil
}

// price returns the request's cost, or nil when the model has no price
// anywhere (recorded as cost unknown, never as zero). It prices with
// pricing.Quote, the rule the API charges budgets by.
func (a *Activities) price(ctx context.Context, in FinalInput, rec store.FinalRecord) (*store.Cost, error) {
	facts, err := a.Store.PricingFor(ctx, in.Meta.Model, rec.ProviderID, rec.ProviderKeyID)
	if err != nil {
		return nil, err
	}
	var db *pricing.Price
	if facts.Price != nil {
		p := catalog.PriceFrom(*facts.Price)
		db = &p
	}
	b, ok := pricing.Quote(db, a.Prices, in.Meta.Model, rec.UpstreamModel, in.Outcome.Usage, pricing.Options{
		Multiplier: facts.Multiplier, FreeTier: facts.FreeTier, Succeeded: in.Outcome.Status == llm.StatusCompleted,
	})
	if !ok {
		if a.UnpricedHook != nil {
			// Labelled by the configured entry: a pattern's names are the
			// client's choice, the pattern is not.
			a.UnpricedHook(cmp.Or(facts.Entry, in.Meta.Model))
		}
		return nil, nil
	}
	snap, _ := json.Marshal(b.Rates)
	return &store.Cost{
		Input: b.Input, Output: b.Output, CacheRead: b.CacheRead, CacheWrite: b.CacheWrite, Request: b.Request,
		Total: b.Total, Actual: b.Actual, Multiplier: facts.Multiplier, Snapshot: snap,
	}, nil
}
