-- upstream_api: the API a translated candidate calls its upstream with
-- (openai-chat, anthropic-messages, gemini); NULL for passthrough (issue 12).
ALTER TABLE request_attempts ADD COLUMN upstream_api TEXT;
