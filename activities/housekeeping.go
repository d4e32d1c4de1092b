package activities

import (
	"context"
	"time"
)

// DeleteInput is one bounded batch of a retention cleanup.
type DeleteInput struct {
	Table  string // requests, request_attempts or audit_log
	Before time.Time
	Limit  int
}

// DeleteExpired deletes one batch of rows older than Before.
func (a *Activities) DeleteExpired(ctx context.Context, in DeleteInput) (int64, error) {
	if in.Limit <= 0 || in.Limit > 10_000 {
		return 0, invalid("batch limit must be 1 to 10000")
	}
	var deleteBatch func(context.Context, time.Time, int) (int64, error)
	switch in.Table {
	case "requests":
		deleteBatch = a.Store.DeleteExpiredRequests
	case "request_attempts":
		deleteBatch = a.Store.DeleteExpiredAttempts
	case "audit_log":
		deleteBatch = a.Store.DeleteExpiredAudit
	default:
		return 0, invalid("no retention for table " + in.Table)
	}
	n, err := deleteBatch(ctx, in.Before, in.Limit)
	if err == nil && a.DeletedHook != nil {
		a.DeletedHook(in.Table, n)
	}
	return n, err
}

// RollupInput names the last day to roll up (UTC, inclusive).
type RollupInput struct {
	Through time.Time
}

// RollupResult lists the days rolled up.
type RollupResult struct {
	Days []string
}

// RollupDays rolls up every day through in.Through not rolled up yet, and
// again every earlier day whose requests changed since it was rolled up
// (recorded late, or a stream that ended after midnight).
func (a *Activities) RollupDays(ctx context.Context, in RollupInput) (RollupResult, error) {
	var res RollupResult
	days, err := a.Store.RollupDue(ctx, in.Through)
	if err != nil {
		return res, err
	}
	for _, d := range days {
		if _, err := a.Store.RollupDay(ctx, d); err != nil {
			return res, err
		}
		res.Days = append(res.Days, d.Format(time.DateOnly))
	}
	return res, nil
}

// ResetMonthlySpend zeroes monthly budgets' spend (once per month).
func (a *Activities) ResetMonthlySpend(ctx context.Context, now time.Time) (int64, error) {
	return a.Store.ResetMonthlySpend(ctx, now)
}
