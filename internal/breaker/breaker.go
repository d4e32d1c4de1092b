// Package breaker keeps one circuit breaker per provider key (sony/gobreaker)
// and merges in the durable state other replicas recorded, so a key opened
// anywhere is skipped everywhere (issue 4).
package breaker

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Config tunes every breaker.
type Config struct {
	// FailureRatio opens the breaker once failures/requests in the window
	// reach it (default 0.5) ...
	FailureRatio float64
	// ... and at least MinRequests were counted (default 5).
	MinRequests uint32
	// Window is the rolling window of counts (default 60s, 10 buckets).
	Window time.Duration
	// OpenFor is how long an open breaker refuses before half-opening
	// (default 30s).
	OpenFor time.Duration
	// HalfOpenProbes is how many requests a half-open breaker lets through
	// (default 2); that many successes close it, one failure re-opens it.
	HalfOpenProbes uint32
}

// Outcome is what an attempt reports to its breaker.
type Outcome int

// Outcomes. Client errors and client cancels are Ignored: they say nothing
// about the provider key (issue 3).
const (
	Success Outcome = iota
	Failure
	Ignored
)

// State is a breaker state.
type State string

// States, as stored in provider_key_health.
const (
	Closed   State = "closed"
	Open     State = "open"
	HalfOpen State = "half_open"
)

// Change is one state transition, handed to accounting.
type Change struct {
	KeyID    int64
	From, To State
	At       time.Time
}

var (
	errFailure = errors.New("failure")
	errIgnored = errors.New("ignored")
)

// Set holds the breakers of all provider keys.
type Set struct {
	cfg      Config
	onChange func(Change)
	mu       sync.Mutex
	m        map[int64]*gobreaker.TwoStepCircuitBreaker[struct{}]
	shared   atomic.Pointer[map[int64]time.Time] // key -> open until, from Postgres
}

// New returns a Set. onChange, if not nil, is called on every transition;
// it must not block.
func New(cfg Config, onChange func(Change)) *Set {
	if cfg.FailureRatio <= 0 {
		cfg.FailureRatio = 0.5
	}
	if cfg.MinRequests == 0 {
		cfg.MinRequests = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 30 * time.Second
	}
	if cfg.HalfOpenProbes == 0 {
		cfg.HalfOpenProbes = 2
	}
	s := &Set{cfg: cfg, onChange: onChange, m: map[int64]*gobreaker.TwoStepCircuitBreaker[struct{}]{}}
	empty := map[int64]time.Time{}
	s.shared.Store(&empty)
	return s
}

func (s *Set) get(keyID int64) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[keyID]; ok {
		return b
	}
	cfg := s.cfg
	b := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         strconv.FormatInt(keyID, 10),
		MaxRequests:  cfg.HalfOpenProbes,
		Interval:     cfg.Window,
		BucketPeriod: cfg.Window / 10,
		Timeout:      cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= cfg.MinRequests && float64(c.TotalFailures)/float64(c.Requests) >= cfg.FailureRatio
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errIgnored) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if s.onChange != nil {
				s.onChange(Change{KeyID: keyID, From: state(from), To: state(to), At: time.Now()})
			}
		},
	})
	s.m[keyID] = b
	return b
}

func state(st gobreaker.State) State {
	switch st {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	}
	return Closed
}

// Open reports whether requests to keyID are refused now: its local breaker
// is open, or another replica recorded it open until after now.
// It implements routing.Health.
func (s *Set) Open(keyID int64, now time.Time) bool {
	if until, ok := (*s.shared.Load())[keyID]; ok && now.Before(until) {
		return true
	}
	s.mu.Lock()
	b, ok := s.m[keyID]
	s.mu.Unlock()
	return ok && b.State() == gobreaker.StateOpen
}

// State returns the local state of keyID's breaker.
func (s *Set) State(keyID int64) State {
	s.mu.Lock()
	b, ok := s.m[keyID]
	s.mu.Unlock()
	if !ok {
		return Closed
	}
	return state(b.State())
}

// Allow asks keyID's breaker for permission to try it. When it refuses
// (open, or half-open with every probe slot taken) ok is false; otherwise
// done must be called exactly once with the attempt's outcome.
func (s *Set) Allow(keyID int64) (done func(Outcome), ok bool) {
	finish, err := s.get(keyID).Allow()
	if err != nil {
		return nil, false
	}
	return func(o Outcome) {
		switch o {
		case Success:
			finish(nil)
		case Failure:
			finish(errFailure)
		default:
			finish(errIgnored)
		}
	}, true
}

// Reset forgets a key's local breaker (it starts closed again) and any
// open period read from Postgres: an operator declared the key healthy.
func (s *Set) Reset(keyID int64) {
	s.mu.Lock()
	delete(s.m, keyID)
	s.mu.Unlock()
	shared := *s.shared.Load()
	if _, ok := shared[keyID]; ok {
		next := make(map[int64]time.Time, len(shared))
		for k, v := range shared {
			if k != keyID {
				next[k] = v
			}
		}
		s.shared.Store(&next)
	}
}

// OpenFor is how long an open breaker refuses its key.
func (s *Set) OpenFor() time.Duration { return s.cfg.OpenFor }

// SetShared replaces the durable open-until times read from Postgres.
func (s *Set) SetShared(openUntil map[int64]time.Time) {
	s.shared.Store(&openUntil)
}

// Earliest returns when the first of keys may be tried again: the end of
// the shortest open period among them, for a Retry-After header.
func (s *Set) Earliest(keys []int64, now time.Time) time.Duration {
	best := s.cfg.OpenFor
	shared := *s.shared.Load()
	for _, k := range keys {
		if until, ok := shared[k]; ok && until.After(now) && until.Sub(now) < best {
			best = until.Sub(now)
		}
	}
	return best
}
