package fakeupstream

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Zero forces an integer knob to zero. A zero field means "inherit" when
// layers are merged, so a Config or ByKey entry that must switch a nonzero
// default off (say, CacheReadTokens) sets the field to Zero instead. Any
// negative value works the same way. Headers need no sentinel: a header
// value of "0" is an explicit zero.
const Zero = -1

// Default knob values. Every token bucket has a distinct nonzero default so
// that a gateway test with no knobs set still catches a bucket that was
// dropped, double counted or swapped; see the package documentation for the
// resulting numbers in each format.
const (
	DefaultChunks             = 3
	DefaultInputTokens        = 13
	DefaultOutputTokens       = 7
	DefaultCacheReadTokens    = 17
	DefaultCacheWrite5mTokens = 3
	DefaultCacheWrite1hTokens = 2
	DefaultReasoningTokens    = 4
	// DefaultHTMLStatus is the status of an HTML page when Status is unset:
	// HTML error pages come from proxies and load balancers in front of a
	// provider, which answer 502 when the backend fails.
	DefaultHTMLStatus = http.StatusBadGateway
)

// Request headers that override knobs for one request. Values are Go
// durations ("200ms") for delays, integers for counts and status, and
// strconv.ParseBool forms ("1", "true", "false") for switches. A malformed
// value is answered with 400 so a typo never silently tests the wrong thing.
// The constants are in canonical form; clients may send any case.
const (
	HeaderHeaderDelay        = "X-Fake-Header-Delay"
	HeaderFirstEventDelay    = "X-Fake-First-Event-Delay"
	HeaderChunks             = "X-Fake-Chunks"
	HeaderChunkInterval      = "X-Fake-Chunk-Interval"
	HeaderInputTokens        = "X-Fake-Input-Tokens"
	HeaderOutputTokens       = "X-Fake-Output-Tokens"
	HeaderCacheReadTokens    = "X-Fake-Cache-Read-Tokens"
	HeaderCacheWrite5mTokens = "X-Fake-Cache-Write-5m-Tokens"
	HeaderCacheWrite1hTokens = "X-Fake-Cache-Write-1h-Tokens"
	HeaderReasoningTokens    = "X-Fake-Reasoning-Tokens"
	HeaderStatus             = "X-Fake-Status"
	HeaderRetryAfter         = "X-Fake-Retry-After" // a duration, or whole seconds
	HeaderErrorType          = "X-Fake-Error-Type"
	HeaderErrorMessage       = "X-Fake-Error-Message"
	HeaderErrorBody          = "X-Fake-Error-Body"
	HeaderEmbeddedError      = "X-Fake-Embedded-Error"
	HeaderHTML               = "X-Fake-Html"
	HeaderHang               = "X-Fake-Hang"
	HeaderCutAfter           = "X-Fake-Cut-After"
	HeaderStreamErrorAfter   = "X-Fake-Stream-Error-After"
	HeaderEndAfter           = "X-Fake-End-After"
	HeaderGzip               = "X-Fake-Gzip"
	HeaderToolCall           = "X-Fake-Tool-Call" // a tool name
)

const headerPrefix = "X-Fake-"

// Knobs shape one response. The server resolves them per request from three
// layers, highest first: X-Fake-* request headers, Config.ByKey[presented
// key], Config.Knobs. Between Config and ByKey a zero field inherits (use
// Zero for an explicit zero int; a switch set to true in Config cannot be
// turned off by ByKey, only by a header).
type Knobs struct {
	// HeaderDelay waits before the status line and headers are written.
	HeaderDelay time.Duration
	// FirstEventDelay waits after the headers are flushed and before the
	// first stream event (or the body of a non-streamed response).
	FirstEventDelay time.Duration
	// Chunks is the number of text deltas; the text is ExpectedText(Chunks).
	Chunks int
	// ChunkInterval waits between consecutive stream events of any kind.
	ChunkInterval time.Duration

	// Token buckets, normalised the way a gateway should price them; the
	// package documentation shows how each format reports them.
	InputTokens        int // uncached input, excluding cache reads and writes
	OutputTokens       int // visible output, excluding reasoning
	CacheReadTokens    int
	CacheWrite5mTokens int
	CacheWrite1hTokens int
	ReasoningTokens    int

	// Status, when 400 or more, answers with that status and the format's
	// error body. It also picks the error type of EmbeddedError and the
	// status of an HTML page.
	Status int
	// RetryAfter sets the retry-after header (whole seconds, rounded up).
	RetryAfter time.Duration
	// ErrorType replaces the error type derived from the status: the
	// OpenAI and Anthropic "type" string or the Gemini "status" string.
	ErrorType string
	// ErrorMessage replaces the default error message.
	ErrorMessage string
	// ErrorBody, when set, is sent verbatim as the body of an injected
	// error instead of the format's error object: a provider's real error
	// text, for tests of how a gateway classifies it.
	ErrorBody string

	// EmbeddedError answers a stream with 200 whose first event is an
	// error; a non-streamed request gets 200 with the format's error body.
	EmbeddedError bool
	// HTML answers with an HTML error page (Status, else DefaultHTMLStatus).
	HTML bool
	// Hang never answers: the request blocks until the client gives up,
	// or until Server.Close drops its connection.
	Hang bool
	// CutAfter aborts the connection after that many stream events (use Zero
	// to abort right after the headers), without any terminating event. A
	// non-streamed response is cut halfway through its body.
	CutAfter int
	// StreamErrorAfter replaces the stream's event of that index (after
	// that many events; Zero for the first) with the format's in-stream
	// error, then ends the stream cleanly: Anthropic `event: error`,
	// Responses `event: response.failed`, an error object for OpenAI chat
	// and Gemini. Streams only.
	StreamErrorAfter int
	// EndAfter ends a stream cleanly after that many events (Zero: right
	// after the headers), without its terminal event: no finish_reason or
	// [DONE], no message_stop, no response.completed, no finishReason.
	// A Gemini JSON-array stream still gets its closing bracket. Streams
	// only.
	EndAfter int
	// Gzip compresses the body when the client sent Accept-Encoding: gzip.
	// Streams are still flushed event by event.
	Gzip bool
	// ToolCall, a tool name, answers with a call of that tool with
	// ToolArguments (arguments streamed as deltas, except Gemini's, which
	// come whole) instead of text, unless the request's last message is
	// a tool result: that one gets the usual text (tool.go).
	ToolCall string
}

// defaultKnobs is the bottom layer under Config.Knobs.
var defaultKnobs = Knobs{
	Chunks:             DefaultChunks,
	InputTokens:        DefaultInputTokens,
	OutputTokens:       DefaultOutputTokens,
	CacheReadTokens:    DefaultCacheReadTokens,
	CacheWrite5mTokens: DefaultCacheWrite5mTokens,
	CacheWrite1hTokens: DefaultCacheWrite1hTokens,
	ReasoningTokens:    DefaultReasoningTokens,
}

// overlay returns k with every nonzero field of o copied over it.
func (k Knobs) overlay(o Knobs) Knobs {
	setDur(&k.HeaderDelay, o.HeaderDelay)
	setDur(&k.FirstEventDelay, o.FirstEventDelay)
	setInt(&k.Chunks, o.Chunks)
	setDur(&k.ChunkInterval, o.ChunkInterval)
	setInt(&k.InputTokens, o.InputTokens)
	setInt(&k.OutputTokens, o.OutputTokens)
	setInt(&k.CacheReadTokens, o.CacheReadTokens)
	setInt(&k.CacheWrite5mTokens, o.CacheWrite5mTokens)
	setInt(&k.CacheWrite1hTokens, o.CacheWrite1hTokens)
	setInt(&k.ReasoningTokens, o.ReasoningTokens)
	setInt(&k.Status, o.Status)
	setDur(&k.RetryAfter, o.RetryAfter)
	if o.ErrorType != "" {
		k.ErrorType = o.ErrorType
	}
	if o.ErrorMessage != "" {
		k.ErrorMessage = o.ErrorMessage
	}
	if o.ErrorBody != "" {
		k.ErrorBody = o.ErrorBody
	}
	k.EmbeddedError = k.EmbeddedError || o.EmbeddedError
	k.HTML = k.HTML || o.HTML
	k.Hang = k.Hang || o.Hang
	setInt(&k.CutAfter, o.CutAfter)
	setInt(&k.StreamErrorAfter, o.StreamErrorAfter)
	setInt(&k.EndAfter, o.EndAfter)
	k.Gzip = k.Gzip || o.Gzip
	if o.ToolCall != "" {
		k.ToolCall = o.ToolCall
	}
	return k
}

func setInt(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

func setDur(dst *time.Duration, v time.Duration) {
	if v != 0 {
		*dst = v
	}
}

// applyHeaders overrides k with the X-Fake-* headers of h. It walks the
// header map once so a request without knob headers pays only the prefix
// checks.
func (k *Knobs) applyHeaders(h http.Header) error {
	for name, vals := range h {
		if len(vals) == 0 || !strings.HasPrefix(name, headerPrefix) {
			continue
		}
		v := strings.TrimSpace(vals[0])
		var err error
		switch name {
		case HeaderHeaderDelay:
			k.HeaderDelay, err = time.ParseDuration(v)
		case HeaderFirstEventDelay:
			k.FirstEventDelay, err = time.ParseDuration(v)
		case HeaderChunks:
			err = headerInt(&k.Chunks, v)
		case HeaderChunkInterval:
			k.ChunkInterval, err = time.ParseDuration(v)
		case HeaderInputTokens:
			err = headerInt(&k.InputTokens, v)
		case HeaderOutputTokens:
			err = headerInt(&k.OutputTokens, v)
		case HeaderCacheReadTokens:
			err = headerInt(&k.CacheReadTokens, v)
		case HeaderCacheWrite5mTokens:
			err = headerInt(&k.CacheWrite5mTokens, v)
		case HeaderCacheWrite1hTokens:
			err = headerInt(&k.CacheWrite1hTokens, v)
		case HeaderReasoningTokens:
			err = headerInt(&k.ReasoningTokens, v)
		case HeaderStatus:
			k.Status, err = strconv.Atoi(v)
			if err == nil && k.Status != 0 && (k.Status < 200 || k.Status > 599) {
				err = fmt.Errorf("status out of range")
			}
		case HeaderRetryAfter:
			k.RetryAfter, err = parseRetryAfter(v)
		case HeaderErrorType:
			k.ErrorType = v
		case HeaderErrorMessage:
			k.ErrorMessage = v
		case HeaderErrorBody:
			k.ErrorBody = v
		case HeaderEmbeddedError:
			k.EmbeddedError, err = strconv.ParseBool(v)
		case HeaderHTML:
			k.HTML, err = strconv.ParseBool(v)
		case HeaderHang:
			k.Hang, err = strconv.ParseBool(v)
		case HeaderCutAfter:
			err = headerInt(&k.CutAfter, v)
		case HeaderStreamErrorAfter:
			err = headerInt(&k.StreamErrorAfter, v)
		case HeaderEndAfter:
			err = headerInt(&k.EndAfter, v)
		case HeaderGzip:
			k.Gzip, err = strconv.ParseBool(v)
		case HeaderToolCall:
			k.ToolCall = v
			if !toolKnobName(v) {
				err = fmt.Errorf("not a tool name ([A-Za-z0-9_-], at most 64)")
			}
		default:
			err = fmt.Errorf("unknown knob header")
		}
		if err != nil {
			return fmt.Errorf("fakeupstream: bad %s value %q: %w", name, v, err)
		}
	}
	return nil
}

// headerInt parses a nonnegative count; "0" becomes Zero so it survives
// resolution as an explicit zero.
func headerInt(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("negative count")
	}
	if n == 0 {
		n = Zero
	}
	*dst = n
	return nil
}

func parseRetryAfter(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// plan is the resolved form of Knobs that handlers read: sentinels are gone
// and cutAfter is -1 when cutting is off.
type plan struct {
	headerDelay, firstEventDelay, chunkInterval time.Duration
	chunks                                      int
	tokens                                      tokens
	status                                      int
	retryAfter                                  time.Duration
	errorType, errorMessage, errorBody          string
	embeddedError, html, hang, gzip             bool
	cutAfter                                    int
	streamErrorAfter, endAfter                  int
	toolCall                                    string
}

func (k *Knobs) plan() plan {
	p := plan{
		headerDelay:     max(k.HeaderDelay, 0),
		firstEventDelay: max(k.FirstEventDelay, 0),
		chunkInterval:   max(k.ChunkInterval, 0),
		chunks:          max(k.Chunks, 0),
		tokens: tokens{
			input:     max(k.InputTokens, 0),
			output:    max(k.OutputTokens, 0),
			cacheRead: max(k.CacheReadTokens, 0),
			write5m:   max(k.CacheWrite5mTokens, 0),
			write1h:   max(k.CacheWrite1hTokens, 0),
			reasoning: max(k.ReasoningTokens, 0),
		},
		status:        k.Status,
		retryAfter:    max(k.RetryAfter, 0),
		errorType:     k.ErrorType,
		errorMessage:  k.ErrorMessage,
		errorBody:     k.ErrorBody,
		embeddedError: k.EmbeddedError,
		html:          k.HTML,
		hang:          k.Hang,
		gzip:          k.Gzip,
		toolCall:      k.ToolCall,
	}
	p.cutAfter = eventIndex(k.CutAfter)
	p.streamErrorAfter = eventIndex(k.StreamErrorAfter)
	p.endAfter = eventIndex(k.EndAfter)
	return p
}

// eventIndex resolves an event-count knob: -1 when off, 0 for Zero.
func eventIndex(n int) int {
	switch {
	case n > 0:
		return n
	case n < 0:
		return 0
	}
	return -1
}

// tokens holds the normalised buckets; its methods derive the totals the
// formats report.
type tokens struct {
	input, output, cacheRead, write5m, write1h, reasoning int
}

// prompt is every input token, cached or not: OpenAI prompt_tokens and
// input_tokens, Gemini promptTokenCount, and both count-tokens endpoints.
func (t tokens) prompt() int { return t.input + t.cacheRead + t.write5m + t.write1h }

// cacheWrite is Anthropic's cache_creation_input_tokens.
func (t tokens) cacheWrite() int { return t.write5m + t.write1h }

// completion is all generated tokens, reasoning included: OpenAI
// completion_tokens and output_tokens, Anthropic output_tokens.
func (t tokens) completion() int { return t.output + t.reasoning }

func (t tokens) total() int { return t.prompt() + t.completion() }
