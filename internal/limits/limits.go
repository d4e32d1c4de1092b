// Package limits enforces what a caller may spend and how fast: requests
// per minute per gateway key and per user (token buckets), concurrent
// requests per provider key, and USD budgets per user and per key.
//
// Rate limits and concurrency are counted in each API replica's memory:
// with N replicas behind a load balancer a key may get up to N × its RPM.
// Budgets are shared: every replica reads spend from Postgres every second
// and adds the cost of its own requests that have ended but are not yet
// recorded, so the budget holds across replicas with an overshoot of at
// most the requests in flight (and those recorded in the last second on
// other replicas).
package limits

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/store"
)

// Refusal says why a request may not proceed, in words for the client.
type Refusal struct {
	Reason     string // rate_limit, budget, limits_unavailable
	Message    string
	RetryAfter time.Duration
}

// Config configures the limiter.
type Config struct {
	// FailOpen serves requests when budget state cannot be read
	// (AETHER_LIMITS_FAILURE_MODE=open); otherwise they are refused.
	FailOpen bool
	// StaleAfter is how old the last successful spend read may be before
	// budget state counts as unreadable (default 15s).
	StaleAfter time.Duration
	// Poll is the spend refresh interval (default 1s).
	Poll time.Duration
}

// Limiter is shared by all requests of an API process.
type Limiter struct {
	cfg   Config
	store *store.Store
	log   *slog.Logger

	mu      sync.Mutex
	keyRPM  map[int64]*bucket
	userRPM map[int64]*bucket

	slotsMu sync.Mutex
	slots   map[int64]*atomic.Int32

	spend   atomic.Pointer[spendState]
	pendMu  sync.Mutex
	pending map[string]pendingCost // request ID -> cost not yet in Postgres
}

type bucket struct {
	rpm int
	lim *rate.Limiter
}

type spendState struct {
	users, keys map[int64]llm.PicoUSD
	at          time.Time
}

type pendingCost struct {
	userID, keyID int64
	cost          llm.PicoUSD
	at            time.Time
}

// New returns a Limiter; call Run to keep budget state fresh.
func New(cfg Config, st *store.Store, log *slog.Logger) *Limiter {
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 15 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	return &Limiter{cfg: cfg, store: st, log: log, keyRPM: map[int64]*bucket{}, userRPM: map[int64]*bucket{},
		slots: map[int64]*atomic.Int32{}, pending: map[string]pendingCost{}}
}

func (l *Limiter) bucketFor(m map[int64]*bucket, id int64, rpm int) *rate.Limiter {
	b, ok := m[id]
	if !ok || b.rpm != rpm {
		b = &bucket{rpm: rpm, lim: rate.NewLimiter(rate.Limit(float64(rpm)/60), rpm)}
		m[id] = b
	}
	return b.lim
}

// Admit checks the caller's rate limits and budgets. A nil result admits
// the request (and takes its rate-limit tokens).
func (l *Limiter) Admit(c *catalog.Caller, now time.Time) *Refusal {
	if r := l.admitRate(c, now); r != nil {
		return r
	}
	return l.admitBudget(c, now)
}

func (l *Limiter) admitRate(c *catalog.Caller, now time.Time) *Refusal {
	if c.Key.RPMLimit == nil && c.User.RPMLimit == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var reservations []*rate.Reservation
	refuse := func(who string, delay time.Duration) *Refusal {
		for _, r := range reservations {
			r.CancelAt(now)
		}
		return &Refusal{Reason: "rate_limit", RetryAfter: delay,
			Message: fmt.Sprintf("Rate limit of this %s exceeded; retry in %s.", who, delay.Round(time.Second))}
	}
	for _, lim := range []struct {
		who string
		m   map[int64]*bucket
		id  int64
		rpm *int
	}{{"API key", l.keyRPM, c.Key.ID, c.Key.RPMLimit}, {"user", l.userRPM, c.User.ID, c.User.RPMLimit}} {
		if lim.rpm == nil {
			continue
		}
		r := l.bucketFor(lim.m, lim.id, *lim.rpm).ReserveN(now, 1)
		if !r.OK() {
			return refuse(lim.who, time.Minute)
		}
		reservations = append(reservations, r)
		if d := r.DelayFrom(now); d > 0 {
			return refuse(lim.who, max(d, time.Second))
		}
	}
	return nil
}

func (l *Limiter) admitBudget(c *catalog.Caller, now time.Time) *Refusal {
	kb, ub := c.Key.BudgetUSD, c.User.BudgetUSD
	if kb == nil && ub == nil {
		return nil
	}
	st := l.spend.Load()
	if st == nil || now.Sub(st.at) > l.cfg.StaleAfter {
		if l.cfg.FailOpen {
			return nil
		}
		return &Refusal{Reason: "limits_unavailable", RetryAfter: 5 * time.Second,
			Message: "Budget state cannot be read right now; try again shortly."}
	}
	pendUser, pendKey := l.pendingFor(c.User.ID, c.Key.ID)
	if kb != nil && st.keys[c.Key.ID]+pendKey >= budget(*kb) {
		return &Refusal{Reason: "budget", RetryAfter: untilReset(c.Key.BudgetPeriod, now),
			Message: fmt.Sprintf("This API key has used its budget of $%s%s.", kb, periodText(c.Key.BudgetPeriod))}
	}
	if ub != nil && st.users[c.User.ID]+pendUser >= budget(*ub) {
		return &Refusal{Reason: "budget", RetryAfter: untilReset(c.User.BudgetPeriod, now),
			Message: fmt.Sprintf("This user has used their budget of $%s%s.", ub, periodText(c.User.BudgetPeriod))}
	}
	return nil
}

// budget converts a USD amount (micros) to pico-dollars.
func budget(m llm.Micros) llm.PicoUSD { return llm.PicoUSD(int64(m) * 1_000_000) }

func periodText(p string) string {
	if p == "monthly" {
		return " for this month"
	}
	return ""
}

// untilReset is a Retry-After for a budget refusal: the next monthly reset
// (the first of next month, UTC), or an hour for budgets that never reset.
func untilReset(period string, now time.Time) time.Duration {
	if period != "monthly" {
		return time.Hour
	}
	y, m, _ := now.UTC().Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Sub(now)
}

func (l *Limiter) pendingFor(userID, keyID int64) (user, key llm.PicoUSD) {
	l.pendMu.Lock()
	defer l.pendMu.Unlock()
	for _, p := range l.pending {
		if p.userID == userID {
			user += p.cost
		}
		if p.keyID == keyID {
			key += p.cost
		}
	}
	return user, key
}

// Ended records the cost of a request that ended here, until Postgres
// shows it; only requests of callers with a budget are tracked.
func (l *Limiter) Ended(c *catalog.Caller, requestID string, cost llm.PicoUSD, now time.Time) {
	if cost <= 0 || (c.Key.BudgetUSD == nil && c.User.BudgetUSD == nil) {
		return
	}
	l.pendMu.Lock()
	l.pending[requestID] = pendingCost{userID: c.User.ID, keyID: c.Key.ID, cost: cost, at: now}
	l.pendMu.Unlock()
}

// TryAcquire takes one of max concurrent slots of a provider key. ok is
// false when all are taken; release must be called once otherwise.
func (l *Limiter) TryAcquire(keyID int64, maxSlots *int) (release func(), ok bool) {
	if maxSlots == nil {
		return func() {}, true
	}
	l.slotsMu.Lock()
	n, found := l.slots[keyID]
	if !found {
		n = new(atomic.Int32)
		l.slots[keyID] = n
	}
	l.slotsMu.Unlock()
	if n.Add(1) > int32(*maxSlots) {
		n.Add(-1)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { n.Add(-1) }) }, true
}

// InFlight returns the requests in flight on a provider key.
func (l *Limiter) InFlight(keyID int64) int {
	l.slotsMu.Lock()
	defer l.slotsMu.Unlock()
	if n, ok := l.slots[keyID]; ok {
		return int(n.Load())
	}
	return 0
}

// Run refreshes spend from Postgres until ctx ends.
func (l *Limiter) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.Poll)
	defer t.Stop()
	failing := false
	for {
		err := l.refresh(ctx)
		if err != nil && ctx.Err() == nil && !failing {
			l.log.Warn("budget state refresh failing", "error", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh reads spend now (Run does it every Poll).
func (l *Limiter) Refresh(ctx context.Context) error { return l.refresh(ctx) }

func (l *Limiter) refresh(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l.pendMu.Lock()
	ids := make([]string, 0, len(l.pending))
	for id := range l.pending {
		ids = append(ids, id)
	}
	l.pendMu.Unlock()
	users, keys, recorded, err := l.store.Spend(qctx, ids)
	if err != nil {
		return err
	}
	now := time.Now()
	l.spend.Store(&spendState{users: users, keys: keys, at: now})
	l.pendMu.Lock()
	for _, id := range recorded {
		delete(l.pending, id)
	}
	for id, p := range l.pending {
		if now.Sub(p.at) > time.Hour { // never recorded: stop counting it twice forever
			delete(l.pending, id)
		}
	}
	l.pendMu.Unlock()
	return nil
}

// Seconds rounds a Retry-After up to whole seconds, at least one.
func Seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
