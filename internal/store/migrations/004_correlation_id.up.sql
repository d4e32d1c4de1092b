-- 004: the client's own X-Request-ID, kept as a label next to the request
-- ID the gateway makes (issue 8): the request ID is never client-chosen.
-- Indexed for the admin API's ?correlation_id= filter, newest first.
ALTER TABLE requests ADD COLUMN correlation_id TEXT;
CREATE INDEX requests_correlation_id ON requests (correlation_id, created_at DESC) WHERE correlation_id IS NOT NULL;
