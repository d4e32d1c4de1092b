-- 005: the UTC days request_stats_daily holds, and which of them changed
-- since they were summed (issue 8). A request row written for a day that
-- was already rolled up (recorded after an outage, or a stream that crossed
-- midnight) marks its day dirty in the same transaction; aggregates read a
-- dirty day from the raw rows and the next rollup sums it again.
CREATE TABLE request_rollup_days (
    day       DATE PRIMARY KEY,
    rolled_at TIMESTAMPTZ,                   -- NULL: never summed (a late row marked a day the rollup skipped)
    dirty     BOOLEAN NOT NULL DEFAULT FALSE -- raw rows changed after rolled_at
);
CREATE INDEX request_rollup_days_dirty ON request_rollup_days (day) WHERE dirty;

-- Every day through the last one rolled up so far counts as rolled. Those
-- whose raw rows are all still there are marked dirty, so the next rollup
-- corrects what the earlier rollup froze; the oldest day that still has
-- raw rows may have lost some to retention and keeps its sums.
INSERT INTO request_rollup_days (day, rolled_at, dirty)
SELECT d::date, now(), coalesce(d::date > (SELECT min((created_at AT TIME ZONE 'UTC')::date) FROM requests), false)
FROM generate_series((SELECT min(day) FROM request_stats_daily)::timestamp,
                     (SELECT max(day) FROM request_stats_daily)::timestamp, interval '1 day') AS d;
