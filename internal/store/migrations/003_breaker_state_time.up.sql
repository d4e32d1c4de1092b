-- 003: order breaker transitions by when the state changed, not by when the
-- row was last touched: recording an attempt's counters must not make an
-- older-looking transition of the same key be ignored.
ALTER TABLE provider_key_health ADD COLUMN state_changed_at TIMESTAMPTZ;
