-- 001_init: Aether's whole schema. Money is NUMERIC (USD), never float.
-- Token counts are BIGINT. Every table a request writes to is keyed so that
-- an activity retry is an upsert, not a second row.

-- config_version is bumped by a trigger on every configuration table, so API
-- replicas poll one integer and reload their in-memory snapshot only when it
-- moved (issue 3: a revoked key stops working within 5 seconds).
CREATE TABLE config_version (
    id         BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    version    BIGINT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO config_version (version) VALUES (1);

CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1, changed_at = now();
    RETURN NULL;
END $$;

CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    email             TEXT,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    -- NULL means unrestricted; an empty array means nothing is allowed.
    allowed_models    TEXT[],
    allowed_providers TEXT[],
    budget_usd        NUMERIC(20, 9),
    budget_period     TEXT NOT NULL DEFAULT 'none' CHECK (budget_period IN ('none', 'monthly')),
    spend_usd         NUMERIC(24, 12) NOT NULL DEFAULT 0,
    rpm_limit         INTEGER CHECK (rpm_limit > 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- api_keys are the gateway keys callers present. Only the SHA-256 of the key
-- and a short display prefix are stored; the key itself is shown once.
CREATE TABLE api_keys (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL UNIQUE,
    key_hash          BYTEA NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    key_prefix        TEXT NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at        TIMESTAMPTZ,
    allowed_models    TEXT[],
    allowed_providers TEXT[],
    allowed_formats   TEXT[],
    budget_usd        NUMERIC(20, 9),
    budget_period     TEXT NOT NULL DEFAULT 'none' CHECK (budget_period IN ('none', 'monthly')),
    spend_usd         NUMERIC(24, 12) NOT NULL DEFAULT 0,
    rpm_limit         INTEGER CHECK (rpm_limit > 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE providers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    priority   INTEGER NOT NULL DEFAULT 100,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- endpoints: where and how a provider is reached for one API format.
CREATE TABLE endpoints (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_id        BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    api_format         TEXT NOT NULL CHECK (api_format IN ('openai', 'anthropic', 'gemini')),
    base_url           TEXT NOT NULL,
    timeout_ms         INTEGER NOT NULL DEFAULT 300000 CHECK (timeout_ms > 0),
    first_byte_timeout_ms INTEGER CHECK (first_byte_timeout_ms > 0),
    -- extra headers sent upstream; values may be secrets, so they are sealed.
    headers_sealed     TEXT,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider_id, name)
);

-- provider_keys: upstream credentials, AES-256-GCM sealed (internal/secret).
CREATE TABLE provider_keys (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_id     BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    secret_sealed   TEXT NOT NULL,
    secret_preview  TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 100,
    global_priority INTEGER,
    rate_multiplier NUMERIC(12, 6) NOT NULL DEFAULT 1 CHECK (rate_multiplier >= 0),
    free_tier       BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_models  TEXT[],
    max_concurrent  INTEGER CHECK (max_concurrent > 0),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider_id, name)
);

CREATE TABLE models (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    aliases    TEXT[] NOT NULL DEFAULT '{}',
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- model_routes: which providers serve a model, under which upstream name.
CREATE TABLE model_routes (
    model_id       BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    provider_id    BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    upstream_model TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (model_id, provider_id)
);

-- prices: USD per million tokens, per model with an optional per-provider
-- override (provider_id NULL = the model's default price).
CREATE TABLE prices (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id               BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    provider_id            BIGINT REFERENCES providers (id) ON DELETE CASCADE,
    input_per_mtok         NUMERIC(20, 9) NOT NULL DEFAULT 0,
    output_per_mtok        NUMERIC(20, 9) NOT NULL DEFAULT 0,
    cache_read_per_mtok    NUMERIC(20, 9),
    cache_write_5m_per_mtok NUMERIC(20, 9),
    cache_write_1h_per_mtok NUMERIC(20, 9),
    long_context_threshold BIGINT CHECK (long_context_threshold > 0),
    long_input_per_mtok    NUMERIC(20, 9),
    long_output_per_mtok   NUMERIC(20, 9),
    long_cache_read_per_mtok NUMERIC(20, 9),
    long_cache_write_5m_per_mtok NUMERIC(20, 9),
    long_cache_write_1h_per_mtok NUMERIC(20, 9),
    per_request            NUMERIC(20, 9) NOT NULL DEFAULT 0,
    source                 TEXT,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (model_id, provider_id)
);

CREATE TRIGGER users_version AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER api_keys_version AFTER INSERT OR UPDATE OR DELETE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER providers_version AFTER INSERT OR UPDATE OR DELETE ON providers FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER endpoints_version AFTER INSERT OR UPDATE OR DELETE ON endpoints FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER provider_keys_version AFTER INSERT OR UPDATE OR DELETE ON provider_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER models_version AFTER INSERT OR UPDATE OR DELETE ON models FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER model_routes_version AFTER INSERT OR UPDATE OR DELETE ON model_routes FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER prices_version AFTER INSERT OR UPDATE OR DELETE ON prices FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();

-- requests: one row per proxied request, written by the request workflow.
-- Status moves only forward: pending -> streaming -> completed|failed|cancelled.
CREATE TABLE requests (
    request_id            TEXT PRIMARY KEY,
    user_id               BIGINT,
    api_key_id            BIGINT,
    model                 TEXT NOT NULL,
    upstream_model        TEXT,
    provider_id           BIGINT,
    provider              TEXT,
    endpoint_id           BIGINT,
    provider_key_id       BIGINT,
    api_format            TEXT NOT NULL,
    operation             TEXT NOT NULL DEFAULT 'generate',
    stream                BOOLEAN NOT NULL DEFAULT FALSE,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'streaming', 'completed', 'failed', 'cancelled')),
    status_code           INTEGER,
    error_class           TEXT,
    error_message         TEXT,
    attempt_count         INTEGER NOT NULL DEFAULT 0,
    input_tokens          BIGINT NOT NULL DEFAULT 0, -- uncached input
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cache_write_5m_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0, -- includes reasoning
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    total_tokens          BIGINT NOT NULL DEFAULT 0,
    cost_known            BOOLEAN NOT NULL DEFAULT FALSE,
    input_cost_usd        NUMERIC(24, 12),
    output_cost_usd       NUMERIC(24, 12),
    cache_read_cost_usd   NUMERIC(24, 12),
    cache_write_cost_usd  NUMERIC(24, 12),
    request_cost_usd      NUMERIC(24, 12),
    total_cost_usd        NUMERIC(24, 12),
    rate_multiplier       NUMERIC(12, 6),
    actual_cost_usd       NUMERIC(24, 12),
    price_snapshot        JSONB,
    spend_applied         BOOLEAN NOT NULL DEFAULT FALSE,
    first_byte_ms         INTEGER,
    total_ms              INTEGER,
    created_at            TIMESTAMPTZ NOT NULL,
    streaming_at          TIMESTAMPTZ,
    finished_at           TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX requests_user_time ON requests (user_id, created_at);
CREATE INDEX requests_key_time ON requests (api_key_id, created_at);
CREATE INDEX requests_provider_model_time ON requests (provider_id, model, created_at);
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_time ON requests (created_at);

-- request_attempts: the trace. One row per planned candidate (seq), whether
-- tried, skipped before trying, or never reached.
CREATE TABLE request_attempts (
    request_id      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    candidate_index INTEGER NOT NULL,
    provider_id     BIGINT,
    endpoint_id     BIGINT,
    provider_key_id BIGINT,
    upstream_model  TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('planned', 'skipped', 'success', 'failed', 'cancelled', 'client_error', 'not_tried')),
    skipped_reason  TEXT,
    status_code     INTEGER,
    error_class     TEXT,
    latency_ms      INTEGER,
    started_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, seq)
);
CREATE INDEX request_attempts_key_time ON request_attempts (provider_key_id, created_at);
CREATE INDEX request_attempts_time ON request_attempts (created_at);

-- provider_key_health: the durable, shared circuit-breaker state of each
-- provider key; replicas read it so one replica's open breaker is skipped
-- by all and survives restarts.
CREATE TABLE provider_key_health (
    provider_key_id      BIGINT PRIMARY KEY REFERENCES provider_keys (id) ON DELETE CASCADE,
    state                TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    total_failures       BIGINT NOT NULL DEFAULT 0,
    total_successes      BIGINT NOT NULL DEFAULT 0,
    last_error_class     TEXT,
    last_failure_at      TIMESTAMPTZ,
    open_until           TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    event       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    request_id  TEXT,
    user_id     BIGINT,
    api_key_id  BIGINT,
    status_code INTEGER,
    detail      JSONB NOT NULL DEFAULT '{}'
);
-- one audit line per request event, so a retried activity cannot add a second.
CREATE UNIQUE INDEX audit_log_request_event ON audit_log (request_id, event) WHERE request_id IS NOT NULL;
CREATE INDEX audit_log_time ON audit_log (at);
