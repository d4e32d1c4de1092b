package seed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"aether/internal/core"
	"aether/internal/store"
)

// Summary counts what an Apply upserted.
type Summary struct {
	Providers, Endpoints, ProviderKeys, Models, Prices, Users, GatewayKeys int
}

// Apply upserts everything in f in one transaction. Running it again with
// the same file changes nothing but updated_at timestamps and re-sealed
// secrets (a fresh nonce each time).
func Apply(ctx context.Context, s *store.Store, f *File) (Summary, error) {
	var sum Summary
	err := s.InTx(ctx, func(tx *store.Tx) error {
		sum = Summary{}
		providerIDs := map[string]int64{}
		for _, p := range f.Providers {
			id, err := tx.UpsertProvider(ctx, store.Provider{Name: p.Name, Priority: intOr(p.Priority, 100), Active: boolOr(p.Active, true)})
			if err != nil {
				return fmt.Errorf("provider %q: %w", p.Name, err)
			}
			providerIDs[p.Name] = id
			sum.Providers++
			for _, e := range p.Endpoints {
				_, err := tx.UpsertEndpoint(ctx, store.Endpoint{
					ProviderID: id, Name: e.Name, Format: core.Format(e.Format), BaseURL: e.BaseURL,
					Timeout: durationOr(e.Timeout, 5*time.Minute), FirstByteTimeout: e.FirstByteTimeout.Duration,
					Headers: e.Headers, Active: boolOr(e.Active, true),
				})
				if err != nil {
					return fmt.Errorf("provider %q endpoint %q: %w", p.Name, e.Name, err)
				}
				sum.Endpoints++
			}
			for _, k := range p.Keys {
				mult := core.Micros(1_000_000)
				if k.RateMultiplier != nil {
					mult = k.RateMultiplier.Micros
				}
				_, err := tx.UpsertProviderKey(ctx, store.ProviderKey{
					ProviderID: id, Name: k.Name, Secret: k.Secret, Priority: intOr(k.Priority, 100),
					GlobalPriority: k.GlobalPriority, RateMultiplier: mult, FreeTier: k.FreeTier,
					AllowedModels: k.AllowedModels, MaxConcurrent: k.MaxConcurrent, Active: boolOr(k.Active, true),
				})
				if err != nil {
					return fmt.Errorf("provider %q key %q: %w", p.Name, k.Name, err)
				}
				sum.ProviderKeys++
			}
		}
		modelIDs := map[string]int64{}
		for _, m := range f.Models {
			id, err := tx.UpsertModel(ctx, store.Model{Name: m.Name, Aliases: m.Aliases, Active: boolOr(m.Active, true)})
			if err != nil {
				return fmt.Errorf("model %q: %w", m.Name, err)
			}
			modelIDs[m.Name] = id
			for _, a := range m.Aliases {
				modelIDs[a] = id
			}
			sum.Models++
			for _, r := range m.Routes {
				pid, err := resolve(ctx, tx, providerIDs, "providers", r.Provider)
				if err != nil {
					return fmt.Errorf("model %q route: %w", m.Name, err)
				}
				err = tx.UpsertModelRoute(ctx, store.ModelRoute{ModelID: id, ProviderID: pid, UpstreamModel: r.UpstreamModel, Active: true})
				if err != nil {
					return fmt.Errorf("model %q route to %q: %w", m.Name, r.Provider, err)
				}
			}
		}
		for _, p := range f.Prices {
			mid, err := resolve(ctx, tx, modelIDs, "models", p.Model)
			if err != nil {
				return fmt.Errorf("price: %w", err)
			}
			price := store.Price{
				ModelID: mid, Input: p.Input.Micros, Output: p.Output.Micros,
				CacheRead: micros(p.CacheRead), CacheWrite5m: micros(p.CacheWrite5m), CacheWrite1h: micros(p.CacheWrite1h),
				PerRequest: p.PerRequest.Micros, Source: p.Source,
			}
			if p.Provider != "" {
				id, err := resolve(ctx, tx, providerIDs, "providers", p.Provider)
				if err != nil {
					return fmt.Errorf("price of %q: %w", p.Model, err)
				}
				price.ProviderID = &id
			}
			if lc := p.LongContext; lc != nil {
				price.LongThreshold = &lc.Threshold
				price.LongInput, price.LongOutput = micros(lc.Input), micros(lc.Output)
				price.LongCacheRead, price.LongCacheWrite5m, price.LongCacheWrite1h = micros(lc.CacheRead), micros(lc.CacheWrite5m), micros(lc.CacheWrite1h)
			}
			if _, err := tx.UpsertPrice(ctx, price); err != nil {
				return fmt.Errorf("price of %q: %w", p.Model, err)
			}
			sum.Prices++
		}
		for _, u := range f.Users {
			uid, err := tx.UpsertUser(ctx, store.User{
				Name: u.Name, Email: u.Email, Active: boolOr(u.Active, true), AllowedModels: u.AllowedModels,
				AllowedProviders: u.AllowedProviders, BudgetUSD: micros(u.BudgetUSD), BudgetPeriod: u.BudgetPeriod, RPMLimit: u.RPMLimit,
			})
			if err != nil {
				return fmt.Errorf("user %q: %w", u.Name, err)
			}
			sum.Users++
			for _, k := range u.Keys {
				_, err := tx.UpsertAPIKey(ctx, store.APIKey{
					UserID: uid, Name: k.Name, Hash: store.HashKey(k.Key), Prefix: KeyPrefix(k.Key),
					Active: boolOr(k.Active, true), ExpiresAt: k.ExpiresAt, AllowedModels: k.AllowedModels,
					AllowedProviders: k.AllowedProviders, AllowedFormats: k.AllowedFormats,
					BudgetUSD: micros(k.BudgetUSD), BudgetPeriod: k.BudgetPeriod, RPMLimit: k.RPMLimit,
				})
				if err != nil {
					return fmt.Errorf("gateway key %q: %w", k.Name, err)
				}
				sum.GatewayKeys++
			}
		}
		return nil
	})
	return sum, err
}

// ErrUnknownReference is returned when an entity names a provider, model or
// user that exists neither in the document nor in the database.
var ErrUnknownReference = errors.New("not found")

// resolve finds the ID of a named entity in the document first, then in the
// database.
func resolve(ctx context.Context, tx *store.Tx, inDoc map[string]int64, table, name string) (int64, error) {
	if id, ok := inDoc[name]; ok {
		return id, nil
	}
	id, err := tx.IDByName(ctx, table, name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("%s %q: %w", strings.TrimSuffix(table, "s"), name, ErrUnknownReference)
	}
	return id, err
}

// KeyPrefix is the part of a gateway key kept for display: enough to tell
// keys apart, never enough to use one.
func KeyPrefix(key string) string {
	n := min(len(key)/2, 10)
	return key[:n] + "…"
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func boolOr(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

func durationOr(d Duration, def time.Duration) time.Duration {
	if d.Duration == 0 {
		return def
	}
	return d.Duration
}

func micros(d *Decimal) *core.Micros {
	if d == nil {
		return nil
	}
	m := d.Micros
	return &m
}
