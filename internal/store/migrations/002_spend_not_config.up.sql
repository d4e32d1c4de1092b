-- 002: spend counters change on every request; they are not configuration.
-- Bump config_version only when a configuration column of users or
-- api_keys changes, so API replicas do not reload their snapshot per request.
DROP TRIGGER users_version ON users;
DROP TRIGGER api_keys_version ON api_keys;
CREATE TRIGGER users_version AFTER INSERT OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER users_version_update AFTER UPDATE OF name, email, active, allowed_models, allowed_providers, budget_usd, budget_period, rpm_limit
    ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER api_keys_version AFTER INSERT OR DELETE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER api_keys_version_update AFTER UPDATE OF user_id, name, key_hash, key_prefix, active, expires_at, allowed_models,
    allowed_providers, allowed_formats, budget_usd, budget_period, rpm_limit
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();

-- Monthly budgets restart from zero at spend_reset_at.
ALTER TABLE users ADD COLUMN spend_reset_at TIMESTAMPTZ;
ALTER TABLE api_keys ADD COLUMN spend_reset_at TIMESTAMPTZ;

-- breaker resets by an operator: replicas that see a newer reset_generation
-- drop their local breaker state for the key.
ALTER TABLE provider_key_health ADD COLUMN reset_generation BIGINT NOT NULL DEFAULT 0;

-- Daily rollup of requests, read by the aggregates endpoint for old ranges.
CREATE TABLE request_stats_daily (
    day            DATE NOT NULL,
    model          TEXT NOT NULL,
    user_id        BIGINT NOT NULL,
    provider       TEXT NOT NULL,
    requests       BIGINT NOT NULL,
    failed         BIGINT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cache_tokens   BIGINT NOT NULL,
    total_tokens   BIGINT NOT NULL,
    cost_usd       NUMERIC(24, 12) NOT NULL,
    PRIMARY KEY (day, model, user_id, provider)
);

