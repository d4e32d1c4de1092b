package limits

import (
	"log/slog"
	"testing"
	"time"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/store"
)

func caller(budget *llm.Micros, rpm *int) *catalog.Caller {
	return &catalog.Caller{Key: &store.APIKey{ID: 1, BudgetUSD: budget, RPMLimit: rpm}, User: &store.User{ID: 1}}
}

// TestFailureMode: when budget state was never read (or is stale), the
// configured failure mode decides; callers without budgets never care.
func TestFailureMode(t *testing.T) {
	b := llm.Micros(5_000_000)
	now := time.Now()
	closed := New(Config{FailOpen: false}, nil, slog.New(slog.DiscardHandler))
	if r := closed.Admit(caller(&b, nil), now); r == nil || r.Reason != "limits_unavailable" {
		t.Fatalf("fail-closed admitted without budget state: %+v", r)
	}
	if r := closed.Admit(caller(nil, nil), now); r != nil {
		t.Fatalf("a caller without a budget was refused: %+v", r)
	}
	open := New(Config{FailOpen: true}, nil, slog.New(slog.DiscardHandler))
	if r := open.Admit(caller(&b, nil), now); r != nil {
		t.Fatalf("fail-open refused: %+v", r)
	}
	// Stale state counts as unreadable.
	closed.spend.Store(&spendState{users: map[int64]llm.PicoUSD{}, keys: map[int64]llm.PicoUSD{}, at: now.Add(-time.Minute)})
	if r := closed.Admit(caller(&b, nil), now); r == nil || r.Reason != "limits_unavailable" {
		t.Fatalf("stale state admitted: %+v", r)
	}
}

func TestBudgetWithPendingCost(t *testing.T) {
	b := llm.Micros(1_000_000) // $1
	l := New(Config{}, nil, slog.New(slog.DiscardHandler))
	now := time.Now()
	l.spend.Store(&spendState{users: map[int64]llm.PicoUSD{}, keys: map[int64]llm.PicoUSD{1: 900_000_000_000}, at: now})
	c := caller(&b, nil)
	if r := l.Admit(c, now); r != nil {
		t.Fatalf("under budget refused: %+v", r)
	}
	l.Ended(c, "r1", 100_000_000_000, now) // $0.10 not yet recorded
	if r := l.Admit(c, now); r == nil || r.Reason != "budget" {
		t.Fatalf("pending cost ignored: %+v", r)
	}
}

func TestRateLimitRefillsAndRefunds(t *testing.T) {
	rpm := 60
	l := New(Config{}, nil, slog.New(slog.DiscardHandler))
	c := caller(nil, &rpm)
	now := time.Now()
	for i := range 60 {
		if r := l.Admit(c, now); r != nil {
			t.Fatalf("request %d refused", i)
		}
	}
	r := l.Admit(c, now)
	if r == nil || r.Reason != "rate_limit" || r.RetryAfter < time.Second {
		t.Fatalf("61st request: %+v", r)
	}
	if r := l.Admit(c, now.Add(1100*time.Millisecond)); r != nil {
		t.Fatalf("a token did not refill after a second: %+v", r)
	}
}

func TestConcurrencySlots(t *testing.T) {
	l := New(Config{}, nil, slog.New(slog.DiscardHandler))
	two := 2
	r1, ok1 := l.TryAcquire(9, &two)
	_, ok2 := l.TryAcquire(9, &two)
	_, ok3 := l.TryAcquire(9, &two)
	if !ok1 || !ok2 || ok3 || l.InFlight(9) != 2 {
		t.Fatalf("slots: %v %v %v inflight %d", ok1, ok2, ok3, l.InFlight(9))
	}
	r1()
	r1() // releasing twice frees one slot only
	if l.InFlight(9) != 1 {
		t.Fatalf("inflight %d after release", l.InFlight(9))
	}
	if _, ok := l.TryAcquire(9, nil); !ok {
		t.Fatal("unlimited key refused")
	}
}
