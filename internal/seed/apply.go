package seed

import (
	"context"
	"fmt"
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
				err := tx.UpsertModelRoute(ctx, store.ModelRoute{ModelID: id, ProviderID: providerIDs[r.Provider], UpstreamModel: r.UpstreamModel, Active: true})
				if err != nil {
					return fmt.Errorf("model %q route to %q: %w", m.Name, r.Provider, err)
				}
			}
		}
		for _, p := range f.Prices {
			price := store.Price{
				ModelID: modelIDs[p.Model], Input: p.Input.Micros, Output: p.Output.Micros,
				CacheRead: micros(p.CacheRead), CacheWrite5m: micros(p.CacheWrite5m), CacheWrite1h: micros(p.CacheWrite1h),
				PerRequest: p.PerRequest.Micros, Source: p.Source,
			}
			if p.Provider != "" {
				id := providerIDs[p.Provider]
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
