-- An endpoint of format openai-chat is an OpenAI-compatible server with
-- Chat Completions only (DeepSeek, vLLM, Ollama): a Responses client is
-- translated to Chat for it instead of passed through (issue 12).
ALTER TABLE endpoints DROP CONSTRAINT endpoints_api_format_check;
ALTER TABLE endpoints ADD CONSTRAINT endpoints_api_format_check
    CHECK (api_format IN ('openai', 'openai-chat', 'anthropic', 'gemini'));
