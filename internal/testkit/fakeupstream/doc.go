// Package fakeupstream is a simulated LLM provider speaking the exact wire
// formats of the OpenAI (Chat Completions and Responses), Anthropic
// (Messages) and Gemini (generateContent) APIs, so gateway tests and
// benchmarks can run against it instead of the real providers:
//
//	srv := httptest.NewServer(fakeupstream.New(fakeupstream.Config{}))
//
// # Endpoints
//
// Routes match on the path only (a query string is ignored, except Gemini's
// alt and key):
//
//	POST /v1/chat/completions, /chat/completions       OpenAI, JSON or SSE ("stream":true)
//	POST /v1/responses, /responses                     OpenAI Responses, JSON or SSE
//	POST /v1/messages                                  Anthropic, JSON or SSE
//	POST /v1/messages/count_tokens                     {"input_tokens":N}
//	POST /v1beta/models/{m}:generateContent            Gemini (also under /v1/models/)
//	POST /v1beta/models/{m}:streamGenerateContent      SSE with ?alt=sse, else a JSON array
//	POST /v1beta/models/{m}:countTokens                {"totalTokens":N}
//	GET  /v1/models, /models                           OpenAI list; Anthropic list when anthropic-version is sent
//	GET  /v1beta/models                                Gemini list
//	GET  /healthz                                      200, no key, not recorded
//
// Anything else is a 404 in the OpenAI error shape. Every API route needs a
// non-empty key in its format's header (Authorization: Bearer; x-api-key or
// Bearer for Anthropic; x-goog-api-key or ?key= for Gemini) and answers 401
// in its format's error shape without one.
//
// # Usage mapping
//
// Knobs hold normalised token buckets; each format reports them with its
// own semantics. With I=InputTokens (uncached), R=CacheReadTokens,
// W5=CacheWrite5mTokens, W1=CacheWrite1hTokens, O=OutputTokens (visible),
// T=ReasoningTokens, and the defaults in parentheses
// (I=13, R=17, W5=3, W1=2, O=7, T=4):
//
//	OpenAI chat    prompt_tokens = I+R+W5+W1 (35)
//	               prompt_tokens_details.cached_tokens = R (17)
//	               completion_tokens = O+T (11)
//	               completion_tokens_details.reasoning_tokens = T (4)
//	               total_tokens = I+R+W5+W1+O+T (46)
//	OpenAI Resp.   input_tokens = I+R+W5+W1 (35), input_tokens_details.cached_tokens = R (17)
//	               output_tokens = O+T (11), output_tokens_details.reasoning_tokens = T (4)
//	               total_tokens = 46
//	Anthropic      input_tokens = I (13)
//	               cache_read_input_tokens = R (17)
//	               cache_creation_input_tokens = W5+W1 (5)
//	               cache_creation.ephemeral_5m_input_tokens = W5 (3)
//	               cache_creation.ephemeral_1h_input_tokens = W1 (2)
//	               output_tokens = O+T (11); output_tokens_details.thinking_tokens = T (4), omitted when 0
//	               (message_start: output_tokens 1; message_delta: the final
//	               cumulative input, cache and output counts)
//	Gemini         promptTokenCount = I+R+W5+W1 (35)
//	               cachedContentTokenCount = R (17), omitted when 0
//	               candidatesTokenCount = O (7)
//	               thoughtsTokenCount = T (4), omitted when 0
//	               totalTokenCount = I+R+W5+W1+O+T (46)
//	count_tokens   input_tokens / totalTokens = I+R+W5+W1 (35)
//
// OpenAI and Gemini have no cache-write bucket: W5 and W1 are ordinary
// uncached prompt tokens there.
//
// # Events
//
// With C = Chunks text deltas, a stream holds these events, which is what
// CutAfter, StreamErrorAfter and EndAfter count:
//
//	OpenAI chat    role chunk, C content chunks, finish chunk,
//	               usage chunk (only with stream_options.include_usage), [DONE]
//	Responses      created, in_progress, output_item.added, content_part.added,
//	               C output_text.delta, output_text.done, content_part.done,
//	               output_item.done, completed
//	Anthropic      message_start, content_block_start, ping, C content_block_delta,
//	               content_block_stop, message_delta, message_stop
//	Gemini         max(C,1) chunks; the last has finishReason and usageMetadata
//
// # Failure knobs
//
// Knobs apply to every authenticated API route, list-models and count-tokens
// included. Status >= 400 answers with the format's error body, whose type
// (Gemini: status) follows the status unless ErrorType is set:
//
//	status  OpenAI type (code)                       Anthropic type         Gemini status
//	400     invalid_request_error                    invalid_request_error  INVALID_ARGUMENT
//	401     invalid_request_error (invalid_api_key)  authentication_error   UNAUTHENTICATED
//	403     permission_error                         permission_error       PERMISSION_DENIED
//	404     invalid_request_error                    not_found_error        NOT_FOUND
//	429     requests (rate_limit_exceeded)           rate_limit_error       RESOURCE_EXHAUSTED
//	500     server_error                             api_error              INTERNAL
//	503     server_error                             api_error              UNAVAILABLE
//	529     server_error                             overloaded_error       INTERNAL
//
// EmbeddedError makes the first event of a 200 stream an error, typed from
// Status or else 529 (Anthropic) / 500 (others): OpenAI chat
// `data: {"error":{…}}`; Responses `event: error` with a nested error
// object, as the live API sends it, then `event: response.failed`;
// Anthropic `event: error`; Gemini `data: {"error":{…}}` (or the first
// array element). ErrorBody replaces the error object with any text (a
// provider's real error body). HTML, Hang, CutAfter and Gzip are described
// on Knobs.
//
// # Tool calls
//
// ToolCall (X-Fake-Tool-Call: <tool name>) answers with one call of that
// tool whose arguments are ToolArguments: a Chat tool_calls delta followed
// by argument pieces and finish_reason "tool_calls"; a Responses
// function_call item with function_call_arguments.delta events; an
// Anthropic tool_use block with input_json_delta events and stop_reason
// "tool_use"; a Gemini functionCall, whole in one chunk. A request whose
// last message is a tool result (a Chat "tool" message, a Responses
// function_call_output, an Anthropic tool_result block, a Gemini
// functionResponse part) gets the usual text instead, so a client's tool
// loop runs to its final answer. Usage is the same as for text.
package fakeupstream
