// Package catalog holds the API's in-memory snapshot of configuration
// (providers, endpoints, keys, models, prices, users, gateway keys), so auth,
// routing and pricing never wait on Postgres. A Watcher
// polls one version counter and swaps in a new immutable Snapshot when
// configuration changed.
package catalog

import (
	"cmp"
	"crypto/subtle"
	"slices"
	"strings"
	"sync"
	"time"

	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/store"
)

// Provider is a provider with its endpoints and keys resolved.
type Provider struct {
	store.Provider
	// Endpoints by format; the first active one serves requests.
	Endpoints map[llm.Format]*store.Endpoint
	Keys      []*store.ProviderKey
}

// Route is one provider serving a model.
type Route struct {
	Provider      *Provider
	UpstreamModel string
}

// Model is a model with its routes. A model served by a pattern entry
// (issue 10) is built per request: Name is the name the client asked for,
// ID and routes are the pattern's, and Pattern is the entry's own name.
type Model struct {
	store.Model
	Routes []Route
	// Pattern is the configured pattern that matched, or "" for an exact
	// name or alias.
	Pattern string
}

// Entry is the configured name that serves the model: the pattern, or the
// model's own name. It is bounded by configuration (a metric label).
func (m *Model) Entry() string { return cmp.Or(m.Pattern, m.Name) }

// Caller is an authenticated gateway key and its user.
type Caller struct {
	Key  *store.APIKey
	User *store.User
}

// Snapshot is an immutable view of configuration. Build one per version.
type Snapshot struct {
	Version int64
	Loaded  time.Time
	keys    map[[32]byte]*Caller
	models  map[string]*Model
	// patterns are the pattern entries, most specific first.
	patterns  []*Model
	providers map[int64]*Provider
	prices    map[[2]int64]*store.Price // (model ID, provider ID or 0)
	keysByID  map[int64]*store.ProviderKey
}

// Build indexes a ConfigSet.
func Build(cs *store.ConfigSet) *Snapshot {
	s := &Snapshot{
		Version:   cs.Version,
		Loaded:    time.Now(),
		keys:      make(map[[32]byte]*Caller, len(cs.APIKeys)),
		models:    make(map[string]*Model, len(cs.Models)*2),
		providers: make(map[int64]*Provider, len(cs.Providers)),
		prices:    make(map[[2]int64]*store.Price, len(cs.Prices)),
		keysByID:  make(map[int64]*store.ProviderKey, len(cs.ProviderKeys)),
	}
	for i := range cs.Providers {
		p := &cs.Providers[i]
		s.providers[p.ID] = &Provider{Provider: *p, Endpoints: map[llm.Format]*store.Endpoint{}}
	}
	for i := range cs.Endpoints {
		e := &cs.Endpoints[i]
		p := s.providers[e.ProviderID]
		if p == nil {
			continue
		}
		if cur := p.Endpoints[e.Format]; cur == nil || (!cur.Active && e.Active) {
			p.Endpoints[e.Format] = e
		}
	}
	for i := range cs.ProviderKeys {
		k := &cs.ProviderKeys[i]
		s.keysByID[k.ID] = k
		if p := s.providers[k.ProviderID]; p != nil {
			p.Keys = append(p.Keys, k)
		}
	}
	byID := map[int64]*Model{}
	for i := range cs.Models {
		m := &Model{Model: cs.Models[i]}
		byID[m.ID] = m
		if llm.IsModelPattern(m.Name) {
			s.patterns = append(s.patterns, m)
			continue
		}
		s.models[m.Name] = m
	}
	// Most specific first; equal ones keep declaration (ID) order.
	slices.SortStableFunc(s.patterns, func(a, b *Model) int { return llm.ComparePatterns(a.Name, b.Name) })
	// Aliases never shadow a real model name.
	for _, m := range byID {
		if llm.IsModelPattern(m.Name) {
			continue
		}
		for _, a := range m.Aliases {
			if _, taken := s.models[a]; !taken {
				s.models[a] = m
			}
		}
	}
	for _, r := range cs.Routes {
		m, p := byID[r.ModelID], s.providers[r.ProviderID]
		if m == nil || p == nil || !r.Active {
			continue
		}
		m.Routes = append(m.Routes, Route{Provider: p, UpstreamModel: r.UpstreamModel})
	}
	for i := range cs.Prices {
		p := &cs.Prices[i]
		var prov int64
		if p.ProviderID != nil {
			prov = *p.ProviderID
		}
		s.prices[[2]int64{p.ModelID, prov}] = p
	}
	users := map[int64]*store.User{}
	for i := range cs.Users {
		users[cs.Users[i].ID] = &cs.Users[i]
	}
	for i := range cs.APIKeys {
		k := &cs.APIKeys[i]
		if u := users[k.UserID]; u != nil {
			s.keys[k.Hash] = &Caller{Key: k, User: u}
		}
	}
	return s
}

// Authenticate finds the caller of a gateway key, or llm.ErrUnauthorized
// for an unknown, inactive or expired key. The map lookup is by SHA-256, and
// the stored hash is compared again in constant time.
func (s *Snapshot) Authenticate(key string, now time.Time) (*Caller, error) {
	if key == "" {
		return nil, llm.ErrUnauthorized
	}
	h := store.HashKey(key)
	c, ok := s.keys[h]
	if !ok || subtle.ConstantTimeCompare(c.Key.Hash[:], h[:]) != 1 {
		return nil, llm.ErrUnauthorized
	}
	if !c.Key.Active || !c.User.Active || (c.Key.ExpiresAt != nil && !now.Before(*c.Key.ExpiresAt)) {
		return nil, llm.ErrUnauthorized
	}
	return c, nil
}

// Model resolves a model name: an exact name or alias first (an inactive
// one refuses the name; patterns are not consulted), else the most
// specific active pattern that matches it. A pattern's model carries the
// requested name, and its routes without their own upstream model pass
// that name upstream unchanged.
func (s *Snapshot) Model(name string) (*Model, bool) {
	if m, ok := s.models[name]; ok {
		if !m.Active {
			return nil, false
		}
		return m, true
	}
	for _, p := range s.patterns {
		if !p.Active || !llm.MatchModel(p.Name, name) {
			continue
		}
		m := &Model{Model: p.Model, Pattern: p.Name, Routes: make([]Route, len(p.Routes))}
		m.Name, m.Aliases = name, nil
		for i, r := range p.Routes {
			if r.UpstreamModel == "" || r.UpstreamModel == p.Name {
				r.UpstreamModel = name
			}
			m.Routes[i] = r
		}
		return m, true
	}
	return nil, false
}

// Models lists active models, sorted by name, for the model-list endpoints.
func (s *Snapshot) Models() []*Model {
	seen := map[int64]bool{}
	var out []*Model
	for _, m := range s.models {
		if m.Active && !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *Model) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Price returns the price of a model on a provider: the provider override
// if there is one, else the model's default, else nil (cost unknown).
func (s *Snapshot) Price(modelID, providerID int64) *store.Price {
	if p, ok := s.prices[[2]int64{modelID, providerID}]; ok {
		return p
	}
	return s.prices[[2]int64{modelID, 0}]
}

// ProviderKey returns a provider key by ID.
func (s *Snapshot) ProviderKey(id int64) *store.ProviderKey { return s.keysByID[id] }

// Providers lists providers sorted by name.
func (s *Snapshot) Providers() []*Provider {
	out := make([]*Provider, 0, len(s.providers))
	for _, p := range s.providers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Provider) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Provider returns a provider by ID.
func (s *Snapshot) Provider(id int64) *Provider { return s.providers[id] }

// AllowedModel reports whether a model allow-list lets any of names
// through: nil allows all, an empty list allows nothing. An entry allows
// the name it equals and, when it is a pattern, every name it matches; so
// "claude-*" allows every name a "claude-*" entry serves, and a concrete
// name is allowed when a pattern serves it (issue 10).
func AllowedModel(list []string, names ...string) bool {
	if list == nil {
		return true
	}
	for _, e := range list {
		for _, n := range names {
			if e == n || (llm.IsModelPattern(e) && llm.MatchModel(e, n)) {
				return true
			}
		}
	}
	return false
}

// Allowed reports whether value passes an allow-list: nil allows all, an
// empty list allows nothing.
func Allowed(list []string, value string) bool {
	return list == nil || slices.Contains(list, value)
}

// PriceFrom converts a stored price for pricing.Cost.
func PriceFrom(s store.Price) pricing.Price {
	p := pricing.Price{
		Input: s.Input, Output: s.Output, CacheRead: s.CacheRead, CacheWrite5m: s.CacheWrite5m, CacheWrite1h: s.CacheWrite1h,
		LongInput: s.LongInput, LongOutput: s.LongOutput, LongCacheRead: s.LongCacheRead,
		LongCacheWrite5m: s.LongCacheWrite5m, LongCacheWrite1h: s.LongCacheWrite1h, PerRequest: s.PerRequest, Source: s.Source,
	}
	if s.LongThreshold != nil {
		p.LongThreshold = *s.LongThreshold
	}
	return p
}

// defaultPrices is the embedded default price table, parsed once: the
// fallback for models without a database price, as in the worker.
var defaultPrices = sync.OnceValue(pricing.Defaults)

// Cost is what a request that ended on candidate c cost, for budget checks
// between its end and its durable record (the request workflow records
// the cost). It prices with pricing.Quote, as the worker does: the
// snapshot's database price, else the embedded default table. ok is false
// when the model has no price anywhere.
func (s *Snapshot) Cost(m *Model, c llm.Candidate, u llm.Usage, succeeded bool) (llm.PicoUSD, bool) {
	var db *pricing.Price
	if p := s.Price(m.ID, c.ProviderID); p != nil {
		pp := PriceFrom(*p)
		db = &pp
	}
	opts := pricing.Options{Multiplier: 1_000_000, Succeeded: succeeded}
	if k := s.keysByID[c.KeyID]; k != nil {
		opts.Multiplier, opts.FreeTier = k.RateMultiplier, k.FreeTier
	}
	b, ok := pricing.Quote(db, defaultPrices(), m.Name, c.UpstreamModel, u, opts)
	return b.Total, ok
}
