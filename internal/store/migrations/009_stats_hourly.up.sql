-- 009: per-hour sums for the console's overview (issue 13), so a busy day
-- (1,000,000 requests) is not summed from the raw rows on every refresh.
-- RecordFinal adds a request here in the transaction that moves it to its
-- final status, and only then, so retries never count it twice; rows still
-- pending or streaming are counted live from requests.
CREATE TABLE request_stats_hourly (
    hour          TIMESTAMPTZ NOT NULL,
    model         TEXT NOT NULL,
    user_id       BIGINT NOT NULL,          -- 0: none
    provider      TEXT NOT NULL,            -- '': none
    requests      BIGINT NOT NULL,
    failed        BIGINT NOT NULL,          -- status 'failed'
    not_completed BIGINT NOT NULL,          -- any status but 'completed', as the aggregates count failures
    total_tokens  BIGINT NOT NULL,
    cost_usd      NUMERIC(24, 12) NOT NULL,
    PRIMARY KEY (hour, model, user_id, provider)
);

-- Requests per total-latency bucket and hour; the bucket is the index
-- width_bucket gives against store.latencyBounds, so percentiles read from
-- here are exact only to the bucket.
CREATE TABLE request_latency_hourly (
    hour     TIMESTAMPTZ NOT NULL,
    bucket   INT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (hour, bucket)
);

-- The last 25 hours' finished requests, so the overview is whole from the
-- start; their latencies are not bucketed (the bounds live in the code) and
-- the percentiles cover requests finished after this migration.
INSERT INTO request_stats_hourly (hour, model, user_id, provider, requests, failed, not_completed, total_tokens, cost_usd)
SELECT date_trunc('hour', created_at), model, coalesce(user_id, 0), coalesce(provider, ''), count(*),
    count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status <> 'completed'),
    coalesce(sum(total_tokens), 0), coalesce(sum(total_cost_usd), 0)
FROM requests
WHERE created_at >= date_trunc('hour', now()) - interval '25 hours' AND status NOT IN ('pending', 'streaming')
GROUP BY 1, 2, 3, 4;
