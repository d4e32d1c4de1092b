package routing

import (
	"sync"
	"time"
)

// Affinity remembers, per (gateway key, model), the provider key that last
// answered, for a TTL: provider prompt caches are per key, so sticking to
// one saves the caller money. A failure drops the entry.
type Affinity struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[[2]int64]affinityEntry
}

type affinityEntry struct {
	keyID   int64
	expires time.Time
}

// NewAffinity returns an Affinity with the given TTL; a TTL of zero turns
// affinity off (Get always answers 0), so candidates follow the configured
// order alone.
func NewAffinity(ttl time.Duration) *Affinity {
	return &Affinity{ttl: ttl, m: map[[2]int64]affinityEntry{}}
}

// Get returns the remembered provider key, or 0.
func (a *Affinity) Get(apiKeyID, modelID int64, now time.Time) int64 {
	if a.ttl <= 0 {
		return 0
	}
	a.mu.RLock()
	e, ok := a.m[[2]int64{apiKeyID, modelID}]
	a.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return 0
	}
	return e.keyID
}

// Succeeded records (or refreshes) the provider key that answered.
func (a *Affinity) Succeeded(apiKeyID, modelID, keyID int64, now time.Time) {
	if a.ttl <= 0 {
		return
	}
	a.mu.Lock()
	a.m[[2]int64{apiKeyID, modelID}] = affinityEntry{keyID: keyID, expires: now.Add(a.ttl)}
	if len(a.m) > 100_000 { // bound memory: drop expired entries
		for k, e := range a.m {
			if now.After(e.expires) {
				delete(a.m, k)
			}
		}
	}
	a.mu.Unlock()
}

// Failed drops the affinity if it points at keyID.
func (a *Affinity) Failed(apiKeyID, modelID, keyID int64) {
	k := [2]int64{apiKeyID, modelID}
	a.mu.Lock()
	if e, ok := a.m[k]; ok && e.keyID == keyID {
		delete(a.m, k)
	}
	a.mu.Unlock()
}
