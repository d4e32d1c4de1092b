package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/llm"
)

// ConfigSet is every configuration row, secrets opened: what the API
// holds in memory so its hot path never queries Postgres.
type ConfigSet struct {
	Version      int64
	Providers    []Provider
	Endpoints    []Endpoint
	ProviderKeys []ProviderKey
	Models       []Model
	Routes       []ModelRoute
	Prices       []Price
	Users        []User
	APIKeys      []APIKey
}

// ConfigVersion returns the counter bumped by every configuration change.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.Pool.QueryRow(ctx, `SELECT version FROM config_version`).Scan(&v)
	return v, interpretError(err)
}

// LoadConfig reads the whole configuration in one repeatable-read
// transaction, so the snapshot is consistent with its version.
func (s *Store) LoadConfig(ctx context.Context) (*ConfigSet, error) {
	var c ConfigSet
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM config_version`).Scan(&c.Version); err != nil {
			return err
		}
		var err error
		if c.Providers, err = collect(ctx, tx, `SELECT id, name, priority, active FROM providers ORDER BY id`,
			func(r pgx.Rows) (Provider, error) {
				var p Provider
				return p, r.Scan(&p.ID, &p.Name, &p.Priority, &p.Active)
			}); err != nil {
			return err
		}
		if c.Endpoints, err = collect(ctx, tx, `SELECT id, provider_id, name, api_format, base_url, timeout_ms,
				coalesce(first_byte_timeout_ms, 0), coalesce(headers_sealed, ''), active FROM endpoints ORDER BY id`,
			func(r pgx.Rows) (Endpoint, error) {
				var e Endpoint
				var format, sealed string
				var timeout, fbt int64
				if err := r.Scan(&e.ID, &e.ProviderID, &e.Name, &format, &e.BaseURL, &timeout, &fbt, &sealed, &e.Active); err != nil {
					return e, err
				}
				e.Format, e.Timeout, e.FirstByteTimeout = llm.Format(format), time.Duration(timeout)*time.Millisecond, time.Duration(fbt)*time.Millisecond
				if sealed != "" {
					plain, err := s.open(sealed, purposeEndpointHeaders)
					if err != nil {
						return e, fmt.Errorf("endpoint %d headers: %w", e.ID, err)
					}
					if err := json.Unmarshal([]byte(plain), &e.Headers); err != nil {
						return e, err
					}
				}
				return e, nil
			}); err != nil {
			return err
		}
		if c.ProviderKeys, err = collect(ctx, tx, `SELECT id, provider_id, name, secret_sealed, secret_preview, priority,
				global_priority, rate_multiplier::text, free_tier, allowed_models, max_concurrent, active
				FROM provider_keys ORDER BY id`,
			func(r pgx.Rows) (ProviderKey, error) {
				var k ProviderKey
				var sealed, mult string
				if err := r.Scan(&k.ID, &k.ProviderID, &k.Name, &sealed, &k.Preview, &k.Priority, &k.GlobalPriority,
					&mult, &k.FreeTier, &k.AllowedModels, &k.MaxConcurrent, &k.Active); err != nil {
					return k, err
				}
				var err error
				if k.RateMultiplier, err = llm.ParseMicros(mult); err != nil {
					return k, err
				}
				if k.Secret, err = s.open(sealed, purposeProviderKey); err != nil {
					return k, fmt.Errorf("provider key %d (%s): %w", k.ID, k.Name, err)
				}
				return k, nil
			}); err != nil {
			return err
		}
		if c.Models, err = collect(ctx, tx, `SELECT id, name, aliases, active FROM models ORDER BY id`,
			func(r pgx.Rows) (Model, error) {
				var m Model
				return m, r.Scan(&m.ID, &m.Name, &m.Aliases, &m.Active)
			}); err != nil {
			return err
		}
		if c.Routes, err = collect(ctx, tx, `SELECT model_id, provider_id, upstream_model, active FROM model_routes ORDER BY model_id, provider_id`,
			func(r pgx.Rows) (ModelRoute, error) {
				var m ModelRoute
				return m, r.Scan(&m.ModelID, &m.ProviderID, &m.UpstreamModel, &m.Active)
			}); err != nil {
			return err
		}
		if c.Prices, err = collect(ctx, tx, priceColumns+` FROM prices ORDER BY id`, scanPrice); err != nil {
			return err
		}
		if c.Users, err = collect(ctx, tx, `SELECT id, name, coalesce(email, ''), active, allowed_models, allowed_providers,
				budget_usd::text, budget_period, rpm_limit, spend_usd::text FROM users ORDER BY id`,
			func(r pgx.Rows) (User, error) {
				var u User
				var budget *string
				var spend string
				if err := r.Scan(&u.ID, &u.Name, &u.Email, &u.Active, &u.AllowedModels, &u.AllowedProviders, &budget, &u.BudgetPeriod, &u.RPMLimit, &spend); err != nil {
					return u, err
				}
				var err error
				if u.Spend, err = llm.ParsePicoUSD(spend); err != nil {
					return u, err
				}
				u.BudgetUSD, err = parseOptMicros(budget)
				return u, err
			}); err != nil {
			return err
		}
		c.APIKeys, err = collect(ctx, tx, `SELECT id, user_id, name, key_hash, key_prefix, active, expires_at, allowed_models,
				allowed_providers, allowed_formats, budget_usd::text, budget_period, rpm_limit, spend_usd::text FROM api_keys ORDER BY id`,
			func(r pgx.Rows) (APIKey, error) {
				var k APIKey
				var hash []byte
				var budget *string
				var spend string
				if err := r.Scan(&k.ID, &k.UserID, &k.Name, &hash, &k.Prefix, &k.Active, &k.ExpiresAt, &k.AllowedModels,
					&k.AllowedProviders, &k.AllowedFormats, &budget, &k.BudgetPeriod, &k.RPMLimit, &spend); err != nil {
					return k, err
				}
				copy(k.Hash[:], hash)
				var err error
				if k.Spend, err = llm.ParsePicoUSD(spend); err != nil {
					return k, err
				}
				k.BudgetUSD, err = parseOptMicros(budget)
				return k, err
			})
		return err
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return &c, nil
}

const priceColumns = `SELECT id, model_id, provider_id, input_per_mtok::text, output_per_mtok::text,
	cache_read_per_mtok::text, cache_write_5m_per_mtok::text, cache_write_1h_per_mtok::text,
	long_context_threshold, long_input_per_mtok::text, long_output_per_mtok::text,
	long_cache_read_per_mtok::text, long_cache_write_5m_per_mtok::text, long_cache_write_1h_per_mtok::text,
	per_request::text, coalesce(source, '')`

func scanPrice(r pgx.Rows) (Price, error) {
	var p Price
	var in, out, per string
	var cr, cw5, cw1, lin, lout, lcr, lcw5, lcw1 *string
	if err := r.Scan(&p.ID, &p.ModelID, &p.ProviderID, &in, &out, &cr, &cw5, &cw1, &p.LongThreshold,
		&lin, &lout, &lcr, &lcw5, &lcw1, &per, &p.Source); err != nil {
		return p, err
	}
	var err error
	parse := func(s string) llm.Micros {
		m, e := llm.ParseMicros(s)
		if e != nil && err == nil {
			err = e
		}
		return m
	}
	opt := func(s *string) *llm.Micros {
		m, e := parseOptMicros(s)
		if e != nil && err == nil {
			err = e
		}
		return m
	}
	p.Input, p.Output, p.PerRequest = parse(in), parse(out), parse(per)
	p.CacheRead, p.CacheWrite5m, p.CacheWrite1h = opt(cr), opt(cw5), opt(cw1)
	p.LongInput, p.LongOutput, p.LongCacheRead, p.LongCacheWrite5m, p.LongCacheWrite1h = opt(lin), opt(lout), opt(lcr), opt(lcw5), opt(lcw1)
	return p, err
}

func parseOptMicros(s *string) (*llm.Micros, error) {
	if s == nil {
		return nil, nil
	}
	m, err := llm.ParseMicros(*s)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *Store) open(sealed, purpose string) (string, error) {
	if s.Box == nil {
		return "", fmt.Errorf("store: no encryption key configured")
	}
	return s.Box.Open(sealed, purpose)
}

func collect[T any](ctx context.Context, q querier, sql string, scan func(pgx.Rows) (T, error)) ([]T, error) {
	return collectArgs(ctx, q, sql, scan)
}

func collectArgs[T any](ctx context.Context, q querier, sql string, scan func(pgx.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Lookups by unique name. The ID lookups return ErrNotFound when no row
// has the name.

// ProviderExists reports whether a provider is called name.
func (s *Store) ProviderExists(ctx context.Context, name string) (bool, error) {
	return s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM providers WHERE name = $1)`, name)
}

// ModelExists reports whether a model is called name or has it as an alias.
func (s *Store) ModelExists(ctx context.Context, name string) (bool, error) {
	return s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM models WHERE name = $1 OR $1 = ANY(aliases))`, name)
}

// UserExists reports whether a user is called name.
func (s *Store) UserExists(ctx context.Context, name string) (bool, error) {
	return s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)`, name)
}

// APIKeyExists reports whether a gateway key is called name.
func (s *Store) APIKeyExists(ctx context.Context, name string) (bool, error) {
	return s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = $1)`, name)
}

func (s *Store) exists(ctx context.Context, sql, name string) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, sql, name).Scan(&ok)
	return ok, interpretError(err)
}

// UserID returns a user's ID.
func (s *Store) UserID(ctx context.Context, name string) (int64, error) {
	return lookupID(ctx, s.Pool, `SELECT id FROM users WHERE name = $1`, name)
}

// APIKeyID returns a gateway key's ID.
func (s *Store) APIKeyID(ctx context.Context, name string) (int64, error) {
	return lookupID(ctx, s.Pool, `SELECT id FROM api_keys WHERE name = $1`, name)
}

// ProviderID returns a provider's ID inside the transaction.
func (tx *Tx) ProviderID(ctx context.Context, name string) (int64, error) {
	return lookupID(ctx, tx.q, `SELECT id FROM providers WHERE name = $1`, name)
}

// EndpointFormats returns the formats of a provider's endpoints inside the
// transaction, each once, in llm.EndpointFormats order (issue 12: a route
// to the provider must serve every client API).
func (tx *Tx) EndpointFormats(ctx context.Context, providerID int64) ([]llm.Format, error) {
	return collectArgs(ctx, tx.q, `SELECT DISTINCT api_format, array_position(ARRAY['openai', 'openai-chat', 'anthropic', 'gemini'], api_format)
		FROM endpoints WHERE provider_id = $1 ORDER BY 2`, func(r pgx.Rows) (llm.Format, error) {
		var f string
		var pos *int
		err := r.Scan(&f, &pos)
		return llm.Format(f), err
	}, providerID)
}

// ModelID returns the ID of the model called name or, failing that, of the
// model that has name as an alias.
func (tx *Tx) ModelID(ctx context.Context, name string) (int64, error) {
	return lookupID(ctx, tx.q, `SELECT id FROM models WHERE name = $1 OR $1 = ANY(aliases) ORDER BY name = $1 DESC LIMIT 1`, name)
}

// UserID returns a user's ID inside the transaction.
func (tx *Tx) UserID(ctx context.Context, name string) (int64, error) {
	return lookupID(ctx, tx.q, `SELECT id FROM users WHERE name = $1`, name)
}

// ProviderKeyExists reports whether provider has a key called name.
func (tx *Tx) ProviderKeyExists(ctx context.Context, providerID int64, name string) (bool, error) {
	var ok bool
	err := tx.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM provider_keys WHERE provider_id = $1 AND name = $2)`, providerID, name).Scan(&ok)
	return ok, interpretError(err)
}

func lookupID(ctx context.Context, q querier, sql, name string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, sql, name).Scan(&id)
	return id, interpretError(err)
}
