-- 006: whether the request came as a response.create message on a
-- Responses WebSocket (GET /v1/responses with Upgrade) rather than as an
-- HTTP request (issue 10). Rows written before it are HTTP requests.
ALTER TABLE requests ADD COLUMN websocket BOOLEAN NOT NULL DEFAULT false;
