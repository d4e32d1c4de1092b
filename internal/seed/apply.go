package seed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"aether/internal/llm"
	"aether/internal/routing"
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
		for _, p := range f.Providers {
			id, err := ApplyProvider(ctx, tx, p)
			if err != nil {
				return err
			}
			sum.Providers++
			for _, e := range p.Endpoints {
				if err := ApplyEndpoint(ctx, tx, id, e); err != nil {
					return fmt.Errorf("provider %q: %w", p.Name, err)
				}
				sum.Endpoints++
			}
			for _, k := range p.Keys {
				if err := ApplyProviderKey(ctx, tx, id, k); err != nil {
					return fmt.Errorf("provider %q: %w", p.Name, err)
				}
				sum.ProviderKeys++
			}
		}
		for _, m := range f.Models {
			if _, err := ApplyModel(ctx, tx, m); err != nil {
				return err
			}
			sum.Models++
		}
		for _, p := range f.Prices {
			if err := ApplyPrice(ctx, tx, p); err != nil {
				return err
			}
			sum.Prices++
		}
		for _, u := range f.Users {
			uid, err := ApplyUser(ctx, tx, u)
			if err != nil {
				return err
			}
			sum.Users++
			for _, k := range u.Keys {
				if err := ApplyGatewayKey(ctx, tx, uid, k); err != nil {
					return fmt.Errorf("user %q: %w", u.Name, err)
				}
				sum.GatewayKeys++
			}
		}
		return nil
	})
	return sum, err
}

// ApplyProvider upserts a provider's own settings (not its endpoints or
// keys) and returns its ID.
func ApplyProvider(ctx context.Context, tx *store.Tx, p Provider) (int64, error) {
	id, err := tx.UpsertProvider(ctx, store.Provider{Name: p.Name, Priority: intOr(p.Priority, 100), Active: boolOr(p.Active, true)})
	if err != nil {
		return 0, fmt.Errorf("provider %q: %w", p.Name, err)
	}
	return id, nil
}

// ApplyEndpoint upserts one endpoint of a provider.
func ApplyEndpoint(ctx context.Context, tx *store.Tx, providerID int64, e Endpoint) error {
	_, err := tx.UpsertEndpoint(ctx, store.Endpoint{
		ProviderID: providerID, Name: e.Name, Format: llm.Format(e.Format), BaseURL: e.BaseURL,
		Timeout: durationOr(e.Timeout, 5*time.Minute), FirstByteTimeout: e.FirstByteTimeout.Duration,
		Headers: e.Headers, Active: boolOr(e.Active, true),
	})
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	return nil
}

// ApplyProviderKey upserts one key of a provider. A key without a secret
// keeps the secret it has (the admin API changing settings only); a new key
// needs one.
func ApplyProviderKey(ctx context.Context, tx *store.Tx, providerID int64, k ProviderKey) error {
	mult := llm.Micros(1_000_000)
	if k.RateMultiplier != nil {
		mult = k.RateMultiplier.Micros
	}
	pk := store.ProviderKey{
		ProviderID: providerID, Name: k.Name, Secret: k.Secret, Priority: intOr(k.Priority, 100),
		GlobalPriority: k.GlobalPriority, RateMultiplier: mult, FreeTier: k.FreeTier,
		AllowedModels: k.AllowedModels, MaxConcurrent: k.MaxConcurrent, Active: boolOr(k.Active, true),
	}
	var err error
	if k.Secret == "" {
		err = tx.UpdateProviderKeySettings(ctx, pk)
		if errors.Is(err, store.ErrNotFound) {
			return &ApplyError{Field: "secret", Message: "is required for a new key"}
		}
	} else {
		_, err = tx.UpsertProviderKey(ctx, pk)
	}
	if err != nil {
		return fmt.Errorf("key %q: %w", k.Name, err)
	}
	return nil
}

// ApplyModel upserts a model and its routes.
func ApplyModel(ctx context.Context, tx *store.Tx, m Model) (int64, error) {
	id, err := tx.UpsertModel(ctx, store.Model{Name: m.Name, Aliases: m.Aliases, Active: boolOr(m.Active, true)})
	if err != nil {
		return 0, fmt.Errorf("model %q: %w", m.Name, err)
	}
	for _, r := range m.Routes {
		pid, err := resolve(ctx, "provider", r.Provider, tx.ProviderID)
		if err != nil {
			return 0, err
		}
		// Every client API must reach the provider, by passthrough or a
		// built translation (issue 12); the YAML validator checks the
		// file's own providers, this the stored ones (admin API).
		formats, err := tx.EndpointFormats(ctx, pid)
		if err != nil {
			return 0, err
		}
		if err := routing.CheckEndpoints(formats); err != nil {
			return 0, &ApplyError{Field: "routes", Message: fmt.Sprintf("provider %q: %v", r.Provider, err)}
		}
		if err := tx.UpsertModelRoute(ctx, store.ModelRoute{ModelID: id, ProviderID: pid, UpstreamModel: r.UpstreamModel, Active: true}); err != nil {
			return 0, fmt.Errorf("model %q route to %q: %w", m.Name, r.Provider, err)
		}
	}
	return id, nil
}

// ApplyPrice upserts a model's price (for one provider when set).
func ApplyPrice(ctx context.Context, tx *store.Tx, p Price) error {
	mid, err := resolve(ctx, "model", p.Model, tx.ModelID)
	if err != nil {
		return err
	}
	price := store.Price{
		ModelID: mid, Input: p.Input.Micros, Output: p.Output.Micros,
		CacheRead: micros(p.CacheRead), CacheWrite5m: micros(p.CacheWrite5m), CacheWrite1h: micros(p.CacheWrite1h),
		PerRequest: p.PerRequest.Micros, Source: p.Source,
	}
	if p.Provider != "" {
		id, err := resolve(ctx, "provider", p.Provider, tx.ProviderID)
		if err != nil {
			return err
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
	return nil
}

// ApplyUser upserts a user's own settings (not their keys).
func ApplyUser(ctx context.Context, tx *store.Tx, u User) (int64, error) {
	id, err := tx.UpsertUser(ctx, store.User{
		Name: u.Name, Email: u.Email, Active: boolOr(u.Active, true), AllowedModels: u.AllowedModels,
		AllowedProviders: u.AllowedProviders, BudgetUSD: micros(u.BudgetUSD), BudgetPeriod: u.BudgetPeriod, RPMLimit: u.RPMLimit,
	})
	if err != nil {
		return 0, fmt.Errorf("user %q: %w", u.Name, err)
	}
	return id, nil
}

// ApplyGatewayKey upserts a gateway key of a user. A key without Key keeps
// its key and changes settings only; a new gateway key needs one.
func ApplyGatewayKey(ctx context.Context, tx *store.Tx, userID int64, k GatewayKey) error {
	ak := store.APIKey{
		UserID: userID, Name: k.Name, Hash: store.HashKey(k.Key), Prefix: KeyPrefix(k.Key),
		Active: boolOr(k.Active, true), ExpiresAt: k.ExpiresAt, AllowedModels: k.AllowedModels,
		AllowedProviders: k.AllowedProviders, AllowedFormats: k.AllowedFormats,
		BudgetUSD: micros(k.BudgetUSD), BudgetPeriod: k.BudgetPeriod, RPMLimit: k.RPMLimit,
	}
	var err error
	if k.Key == "" {
		err = tx.UpdateAPIKeySettings(ctx, ak)
		if errors.Is(err, store.ErrNotFound) {
			return &ApplyError{Field: "key", Message: "is required for a new gateway key"}
		}
	} else {
		_, err = tx.UpsertAPIKey(ctx, ak)
	}
	if err != nil {
		return fmt.Errorf("gateway key %q: %w", k.Name, err)
	}
	return nil
}

// ApplyError is a field the database rejects: a reference to something that
// does not exist, or a new key without its secret.
type ApplyError struct {
	Field, Message string
}

func (e *ApplyError) Error() string { return e.Field + ": " + e.Message }

// resolve finds the ID of a named provider or model (kind) with lookup.
func resolve(ctx context.Context, kind, name string, lookup func(context.Context, string) (int64, error)) (int64, error) {
	id, err := lookup(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, &ApplyError{Field: kind, Message: fmt.Sprintf("%s %q does not exist", kind, name)}
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

func micros(d *Decimal) *llm.Micros {
	if d == nil {
		return nil
	}
	m := d.Micros
	return &m
}
