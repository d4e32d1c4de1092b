package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"aether/internal/llm"
	"aether/internal/secret"
)

// Purposes bind each sealed column to its use (internal/secret).
const (
	purposeProviderKey     = "aether/provider_key"
	purposeEndpointHeaders = "aether/endpoint_headers"
)

// seedLockID serialises declarative configuration applies across processes.
const seedLockID = 0x4145544845520002

// querier is satisfied by the pool and by a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Tx is a store transaction: every write method of Store is also on Tx.
type Tx struct {
	q   pgx.Tx
	box *secret.Box
}

// InTx runs f in one transaction holding the configuration lock, committing
// when f returns nil.
func (s *Store) InTx(ctx context.Context, f func(tx *Tx) error) error {
	return pgx.BeginFunc(ctx, s.Pool, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(seedLockID)); err != nil {
			return err
		}
		return f(&Tx{q: t, box: s.Box})
	})
}

func microsArg(m *llm.Micros) any {
	if m == nil {
		return nil
	}
	return m.String()
}

// HashKey is how a gateway key is stored and looked up.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// UpsertProvider creates or updates a provider by name and returns its ID.
func (tx *Tx) UpsertProvider(ctx context.Context, p Provider) (int64, error) {
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO providers (name, priority, active) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority, active = EXCLUDED.active, updated_at = now()
		RETURNING id`, p.Name, p.Priority, p.Active).Scan(&id)
	return id, interpretError(err)
}

// UpsertEndpoint creates or updates an endpoint by (provider, name).
func (tx *Tx) UpsertEndpoint(ctx context.Context, e Endpoint) (int64, error) {
	if tx.box == nil {
		return 0, errors.New("store: no encryption key configured")
	}
	var headers any
	if len(e.Headers) > 0 {
		b, err := json.Marshal(e.Headers)
		if err != nil {
			return 0, err
		}
		headers = tx.box.Seal(string(b), purposeEndpointHeaders)
	}
	var fbt any
	if e.FirstByteTimeout > 0 {
		fbt = e.FirstByteTimeout.Milliseconds()
	}
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO endpoints (provider_id, name, api_format, base_url, timeout_ms, first_byte_timeout_ms, headers_sealed, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (provider_id, name) DO UPDATE SET api_format = EXCLUDED.api_format, base_url = EXCLUDED.base_url,
			timeout_ms = EXCLUDED.timeout_ms, first_byte_timeout_ms = EXCLUDED.first_byte_timeout_ms,
			headers_sealed = EXCLUDED.headers_sealed, active = EXCLUDED.active, updated_at = now()
		RETURNING id`,
		e.ProviderID, e.Name, string(e.Format), e.BaseURL, e.Timeout.Milliseconds(), fbt, headers, e.Active).Scan(&id)
	return id, interpretError(err)
}

// UpsertProviderKey creates or updates a provider key by (provider, name),
// sealing its secret.
func (tx *Tx) UpsertProviderKey(ctx context.Context, k ProviderKey) (int64, error) {
	if tx.box == nil {
		return 0, errors.New("store: no encryption key configured")
	}
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO provider_keys (provider_id, name, secret_sealed, secret_preview, priority, global_priority,
			rate_multiplier, free_tier, allowed_models, max_concurrent, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9, $10, $11)
		ON CONFLICT (provider_id, name) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed,
			secret_preview = EXCLUDED.secret_preview, priority = EXCLUDED.priority,
			global_priority = EXCLUDED.global_priority, rate_multiplier = EXCLUDED.rate_multiplier,
			free_tier = EXCLUDED.free_tier, allowed_models = EXCLUDED.allowed_models,
			max_concurrent = EXCLUDED.max_concurrent, active = EXCLUDED.active, updated_at = now()
		RETURNING id`,
		k.ProviderID, k.Name, tx.box.Seal(k.Secret, purposeProviderKey), secret.Mask(k.Secret), k.Priority,
		k.GlobalPriority, k.RateMultiplier.String(), k.FreeTier, k.AllowedModels, k.MaxConcurrent, k.Active).Scan(&id)
	return id, interpretError(err)
}

// UpsertModel creates or updates a model by name.
func (tx *Tx) UpsertModel(ctx context.Context, m Model) (int64, error) {
	aliases := m.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO models (name, aliases, active) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET aliases = EXCLUDED.aliases, active = EXCLUDED.active, updated_at = now()
		RETURNING id`, m.Name, aliases, m.Active).Scan(&id)
	return id, interpretError(err)
}

// UpsertModelRoute creates or updates the route of a model to a provider.
func (tx *Tx) UpsertModelRoute(ctx context.Context, r ModelRoute) error {
	_, err := tx.q.Exec(ctx, `
		INSERT INTO model_routes (model_id, provider_id, upstream_model, active) VALUES ($1, $2, $3, $4)
		ON CONFLICT (model_id, provider_id) DO UPDATE SET upstream_model = EXCLUDED.upstream_model, active = EXCLUDED.active`,
		r.ModelID, r.ProviderID, r.UpstreamModel, r.Active)
	return interpretError(err)
}

// UpsertPrice creates or updates the price of a model (for one provider when
// ProviderID is set).
func (tx *Tx) UpsertPrice(ctx context.Context, p Price) (int64, error) {
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO prices (model_id, provider_id, input_per_mtok, output_per_mtok, cache_read_per_mtok,
			cache_write_5m_per_mtok, cache_write_1h_per_mtok, long_context_threshold, long_input_per_mtok,
			long_output_per_mtok, long_cache_read_per_mtok, long_cache_write_5m_per_mtok,
			long_cache_write_1h_per_mtok, per_request, source)
		VALUES ($1, $2, $3::numeric, $4::numeric, $5::numeric, $6::numeric, $7::numeric, $8, $9::numeric,
			$10::numeric, $11::numeric, $12::numeric, $13::numeric, $14::numeric, $15)
		ON CONFLICT (model_id, provider_id) DO UPDATE SET input_per_mtok = EXCLUDED.input_per_mtok,
			output_per_mtok = EXCLUDED.output_per_mtok, cache_read_per_mtok = EXCLUDED.cache_read_per_mtok,
			cache_write_5m_per_mtok = EXCLUDED.cache_write_5m_per_mtok,
			cache_write_1h_per_mtok = EXCLUDED.cache_write_1h_per_mtok,
			long_context_threshold = EXCLUDED.long_context_threshold,
			long_input_per_mtok = EXCLUDED.long_input_per_mtok, long_output_per_mtok = EXCLUDED.long_output_per_mtok,
			long_cache_read_per_mtok = EXCLUDED.long_cache_read_per_mtok,
			long_cache_write_5m_per_mtok = EXCLUDED.long_cache_write_5m_per_mtok,
			long_cache_write_1h_per_mtok = EXCLUDED.long_cache_write_1h_per_mtok,
			per_request = EXCLUDED.per_request, source = EXCLUDED.source, updated_at = now()
		RETURNING id`,
		p.ModelID, p.ProviderID, p.Input.String(), p.Output.String(), microsArg(p.CacheRead),
		microsArg(p.CacheWrite5m), microsArg(p.CacheWrite1h), p.LongThreshold, microsArg(p.LongInput),
		microsArg(p.LongOutput), microsArg(p.LongCacheRead), microsArg(p.LongCacheWrite5m),
		microsArg(p.LongCacheWrite1h), p.PerRequest.String(), p.Source).Scan(&id)
	return id, interpretError(err)
}

// UpsertUser creates or updates a user by name.
func (tx *Tx) UpsertUser(ctx context.Context, u User) (int64, error) {
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO users (name, email, active, allowed_models, allowed_providers, budget_usd, budget_period, rpm_limit)
		VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6::numeric, $7, $8)
		ON CONFLICT (name) DO UPDATE SET email = EXCLUDED.email, active = EXCLUDED.active,
			allowed_models = EXCLUDED.allowed_models, allowed_providers = EXCLUDED.allowed_providers,
			budget_usd = EXCLUDED.budget_usd, budget_period = EXCLUDED.budget_period,
			rpm_limit = EXCLUDED.rpm_limit, updated_at = now()
		RETURNING id`,
		u.Name, u.Email, u.Active, u.AllowedModels, u.AllowedProviders, microsArg(u.BudgetUSD),
		defaultPeriod(u.BudgetPeriod), u.RPMLimit).Scan(&id)
	return id, interpretError(err)
}

// UpsertAPIKey creates or updates a gateway key by name.
func (tx *Tx) UpsertAPIKey(ctx context.Context, k APIKey) (int64, error) {
	var id int64
	err := tx.q.QueryRow(ctx, `
		INSERT INTO api_keys (user_id, name, key_hash, key_prefix, active, expires_at, allowed_models,
			allowed_providers, allowed_formats, budget_usd, budget_period, rpm_limit)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11, $12)
		ON CONFLICT (name) DO UPDATE SET user_id = EXCLUDED.user_id, key_hash = EXCLUDED.key_hash,
			key_prefix = EXCLUDED.key_prefix, active = EXCLUDED.active, expires_at = EXCLUDED.expires_at,
			allowed_models = EXCLUDED.allowed_models, allowed_providers = EXCLUDED.allowed_providers,
			allowed_formats = EXCLUDED.allowed_formats, budget_usd = EXCLUDED.budget_usd,
			budget_period = EXCLUDED.budget_period, rpm_limit = EXCLUDED.rpm_limit, updated_at = now()
		RETURNING id`,
		k.UserID, k.Name, k.Hash[:], k.Prefix, k.Active, k.ExpiresAt, k.AllowedModels, k.AllowedProviders,
		k.AllowedFormats, microsArg(k.BudgetUSD), defaultPeriod(k.BudgetPeriod), k.RPMLimit).Scan(&id)
	return id, interpretError(err)
}

// UpdateProviderKeySettings changes a key's settings but not its secret.
func (tx *Tx) UpdateProviderKeySettings(ctx context.Context, k ProviderKey) error {
	tag, err := tx.q.Exec(ctx, `UPDATE provider_keys SET priority = $3, global_priority = $4, rate_multiplier = $5::numeric,
		free_tier = $6, allowed_models = $7, max_concurrent = $8, active = $9, updated_at = now()
		WHERE provider_id = $1 AND name = $2`,
		k.ProviderID, k.Name, k.Priority, k.GlobalPriority, k.RateMultiplier.String(), k.FreeTier, k.AllowedModels, k.MaxConcurrent, k.Active)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return interpretError(err)
}

// UpdateAPIKeySettings changes a gateway key's owner, restrictions and
// budget, but never the key itself.
func (tx *Tx) UpdateAPIKeySettings(ctx context.Context, k APIKey) error {
	tag, err := tx.q.Exec(ctx, `UPDATE api_keys SET user_id = $2, active = $3, expires_at = $4, allowed_models = $5,
		allowed_providers = $6, allowed_formats = $7, budget_usd = $8::numeric, budget_period = $9, rpm_limit = $10, updated_at = now()
		WHERE name = $1`,
		k.Name, k.UserID, k.Active, k.ExpiresAt, k.AllowedModels, k.AllowedProviders, k.AllowedFormats,
		microsArg(k.BudgetUSD), defaultPeriod(k.BudgetPeriod), k.RPMLimit)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return interpretError(err)
}

func defaultPeriod(p string) string {
	if p == "" {
		return "none"
	}
	return p
}

// Deletes by name. Each returns ErrNotFound when nothing matched. Child
// rows (endpoints, keys, routes, prices, gateway keys) go with their
// parent (ON DELETE CASCADE); request history keeps its IDs.

// DeleteProvider deletes a provider with its endpoints, keys and routes.
func (s *Store) DeleteProvider(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM providers WHERE name = $1`, name)
}

// DeleteEndpoint deletes one endpoint of a provider.
func (s *Store) DeleteEndpoint(ctx context.Context, provider, name string) error {
	return s.deleteOne(ctx, `DELETE FROM endpoints WHERE name = $2 AND provider_id = (SELECT id FROM providers WHERE name = $1)`, provider, name)
}

// DeleteProviderKey deletes one key of a provider.
func (s *Store) DeleteProviderKey(ctx context.Context, provider, name string) error {
	return s.deleteOne(ctx, `DELETE FROM provider_keys WHERE name = $2 AND provider_id = (SELECT id FROM providers WHERE name = $1)`, provider, name)
}

// DeleteModel deletes a model with its routes and prices.
func (s *Store) DeleteModel(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM models WHERE name = $1`, name)
}

// DeletePrice deletes a model's price (its default one when provider is "").
func (s *Store) DeletePrice(ctx context.Context, model, provider string) error {
	return s.deleteOne(ctx, `DELETE FROM prices WHERE model_id = (SELECT id FROM models WHERE name = $1)
		AND provider_id IS NOT DISTINCT FROM (SELECT id FROM providers WHERE name = nullif($2, ''))`, model, provider)
}

// DeleteUser deletes a user with their gateway keys.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM users WHERE name = $1`, name)
}

// DeleteAPIKey deletes a gateway key.
func (s *Store) DeleteAPIKey(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM api_keys WHERE name = $1`, name)
}

func (s *Store) deleteOne(ctx context.Context, sql string, args ...any) error {
	tag, err := s.Pool.Exec(ctx, sql, args...)
	if err != nil {
		return interpretError(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
