package fakeupstream

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server. The embedded Knobs are the server-wide
// defaults; ByKey overrides them for requests presenting a given API key, so
// one server can fail for "k-bad" and answer for "k-good".
type Config struct {
	Knobs
	ByKey map[string]Knobs
	// Models is what the list-models endpoints return, in every format.
	// Empty means DefaultModels.
	Models []string
	// RecordLimit is how many requests Requests keeps (oldest dropped
	// first): 0 means 1000, negative keeps none (benchmarks), while Count
	// and CountKey still count every request.
	RecordLimit int
	// RecordBodyLimit caps the bytes of each recorded body; 0 means 64 KiB.
	RecordBodyLimit int
	// Logger receives one debug record per request when it is enabled for
	// slog.LevelDebug; nil discards. Nothing is logged per request at Info.
	Logger *slog.Logger
}

// DefaultModels is the model list served when Config.Models is empty.
var DefaultModels = []string{"gpt-4.1-mini", "claude-sonnet-4-5", "gemini-2.5-flash"}

// maxBody bounds what the server reads from one request, so a runaway
// client cannot exhaust memory; larger requests get 413.
const maxBody = 64 << 20

// Server is an http.Handler that imitates the OpenAI, Anthropic and Gemini
// APIs closely enough for their official SDKs, with knobs for the failure
// modes a gateway must survive.
type Server struct {
	base    Knobs
	keyMu   sync.RWMutex
	byKey   map[string]Knobs // already overlaid on base
	log     *slog.Logger
	journal journal
	seq     atomic.Uint64

	openAIModels, anthropicModels, geminiModels []byte

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns a Server for cfg; the zero Config is ready to use.
func New(cfg Config) *Server {
	s := &Server{
		base:   defaultKnobs.overlay(cfg.Knobs),
		byKey:  make(map[string]Knobs, len(cfg.ByKey)),
		log:    cfg.Logger,
		closed: make(chan struct{}),
	}
	for key, k := range cfg.ByKey {
		s.byKey[key] = s.base.overlay(k)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.RecordLimit == 0:
		s.journal.limit = 1000
	case cfg.RecordLimit > 0:
		s.journal.limit = cfg.RecordLimit
	}
	s.journal.bodyLimit = cfg.RecordBodyLimit
	if s.journal.bodyLimit <= 0 {
		s.journal.bodyLimit = 64 << 10
	}
	models := cfg.Models
	if len(models) == 0 {
		models = DefaultModels
	}
	s.openAIModels, s.anthropicModels, s.geminiModels = modelLists(models)
	return s
}

// SetKeyKnobs replaces the knobs of one provider key while the server runs
// (a key that recovers, or starts failing, mid-test). A zero Knobs makes the
// key behave like the server defaults again.
func (s *Server) SetKeyKnobs(key string, k Knobs) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	s.byKey[key] = s.base.overlay(k)
}

// Close drops the connections of requests blocked by the Hang knob or
// sleeping in a delay, so httptest.Server.Close and graceful shutdown do not
// wait for them. New requests are still answered, but no longer hang.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// format is the API family an endpoint belongs to; it picks the auth header
// and the error body shape.
type format uint8

const (
	formatOpenAI format = iota
	formatAnthropic
	formatGemini
)

func (f format) String() string {
	switch f {
	case formatAnthropic:
		return "anthropic"
	case formatGemini:
		return "gemini"
	default:
		return "openai"
	}
}

type endpoint uint8

const (
	epNotFound endpoint = iota
	epChat
	epResponses
	epMessages
	epCountTokens
	epModels
	epGeminiModels
	epGeminiGenerate
	epGeminiStream
	epGeminiCount
)

// route matches on the path only. A plain switch rather than a router keeps
// the hot path allocation-free; the Gemini actions share a prefix with
// OpenAI's GET /v1/models and are told apart by the ":action" suffix.
func route(r *http.Request) (endpoint, format, string) {
	p := r.URL.Path
	switch p {
	case "/v1/chat/completions", "/chat/completions":
		return epChat, formatOpenAI, ""
	case "/v1/responses", "/responses":
		return epResponses, formatOpenAI, ""
	case "/v1/messages":
		return epMessages, formatAnthropic, ""
	case "/v1/messages/count_tokens":
		return epCountTokens, formatAnthropic, ""
	case "/v1/models", "/models":
		if r.Header.Get("Anthropic-Version") != "" {
			return epModels, formatAnthropic, ""
		}
		return epModels, formatOpenAI, ""
	case "/v1beta/models":
		return epGeminiModels, formatGemini, ""
	}
	rest, ok := strings.CutPrefix(p, "/v1beta/models/")
	if !ok {
		rest, ok = strings.CutPrefix(p, "/v1/models/")
	}
	if ok {
		model, action, _ := strings.Cut(rest, ":")
		switch action {
		case "generateContent":
			return epGeminiGenerate, formatGemini, model
		case "streamGenerateContent":
			return epGeminiStream, formatGemini, model
		case "countTokens":
			return epGeminiCount, formatGemini, model
		}
	}
	return epNotFound, formatOpenAI, ""
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Header()["Content-Type"] = ctText
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	x := exchangePool.Get().(*exchange)
	x.s, x.w, x.r = s, w, r
	defer x.release()
	x.serve()
}

// exchange is the per-request state, pooled so that a streamed response
// reuses its buffers.
type exchange struct {
	s  *Server
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController
	gz *gzip.Writer
	// out is w, or gz when compressing.
	out io.Writer

	ep     endpoint
	format format
	p      plan
	key    string
	model  string
	stream bool
	// includeUsage is OpenAI chat stream_options.include_usage.
	includeUsage bool
	// sse is false for a Gemini stream without alt=sse (a JSON array).
	sse     bool
	query   url.Values
	events  int
	ended   bool // EndAfter or StreamErrorAfter ended the stream: later events are dropped
	id      uint64
	created int64

	body []byte
	buf  []byte // scratch for one event or body
	pre  []byte // per-request prefix shared by many events
	req  requestBody
}

var exchangePool = sync.Pool{New: func() any {
	return &exchange{body: make([]byte, 0, 4096), buf: make([]byte, 0, 2048), pre: make([]byte, 0, 512)}
}}

var gzipPool = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return gz
}}

func (x *exchange) release() {
	if x.gz != nil {
		x.gz.Reset(io.Discard)
		gzipPool.Put(x.gz)
	}
	body, buf, pre := x.body[:0], x.buf[:0], x.pre[:0]
	if cap(body) > 1<<20 {
		body = make([]byte, 0, 4096)
	}
	*x = exchange{body: body, buf: buf, pre: pre}
	exchangePool.Put(x)
}

// requestBody holds the few request fields the fake acts on; every other
// field is ignored, as a gateway must pass them through untouched.
type requestBody struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

var errTooLarge = errors.New("request body too large")

func (x *exchange) serve() {
	r := x.r
	x.ep, x.format, x.model = route(r)
	readErr := x.readBody()
	x.key = x.presentedKey()
	var parseErr error
	switch x.ep {
	case epChat, epResponses, epMessages, epCountTokens:
		if readErr == nil {
			parseErr = json.Unmarshal(x.body, &x.req)
			x.model = x.req.Model
			x.stream = x.req.Stream && x.ep != epCountTokens
			x.includeUsage = x.req.StreamOptions != nil && x.req.StreamOptions.IncludeUsage
		}
	case epGeminiStream:
		x.stream = true
		x.sse = x.queryValue("alt") == "sse"
	}
	if x.model == "" {
		x.model = "fake-model"
	}
	x.s.journal.add(r, x.body, x.key, x.model, x.stream)
	if x.s.log.Enabled(r.Context(), slog.LevelDebug) {
		x.s.log.LogAttrs(r.Context(), slog.LevelDebug, "fakeupstream request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("provider", x.format.String()), slog.String("model", x.model),
			slog.Bool("stream", x.stream))
	}

	switch {
	case x.ep == epNotFound:
		x.writeError(http.StatusNotFound, "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
		return
	case errors.Is(readErr, errTooLarge):
		x.writeError(http.StatusRequestEntityTooLarge, "", "fakeupstream: request body too large")
		return
	case readErr != nil:
		return // the client went away mid-body
	case x.key == "":
		x.writeError(http.StatusUnauthorized, "", missingKeyMessage[x.format])
		return
	case parseErr != nil:
		x.writeError(http.StatusBadRequest, "", "fakeupstream: request body is not valid JSON: "+parseErr.Error())
		return
	}

	x.s.keyMu.RLock()
	k, ok := x.s.byKey[x.key]
	x.s.keyMu.RUnlock()
	if !ok {
		k = x.s.base
	}
	if err := k.applyHeaders(r.Header); err != nil {
		x.writeError(http.StatusBadRequest, "", err.Error())
		return
	}
	x.p = k.plan()
	if x.p.toolCall != "" && (x.p.embeddedError || x.toolResultLast()) {
		x.p.toolCall = "" // the tool's result came back: the final text
	}

	// A hang or delay cut short by Close drops the connection: returning
	// normally would answer an empty 200.
	if x.p.hang {
		select {
		case <-r.Context().Done():
		case <-x.s.closed:
		}
		abort()
	}
	if !x.sleep(x.p.headerDelay) {
		abort()
	}
	if x.p.retryAfter > 0 {
		secs := (x.p.retryAfter + time.Second - 1) / time.Second
		x.w.Header()["Retry-After"] = []string{strconv.FormatInt(int64(secs), 10)}
	}
	switch {
	case x.p.html:
		x.writeHTML()
		return
	case x.p.embeddedError && !x.stream:
		x.writeErrorBody(http.StatusOK, x.embeddedStatus())
		return
	case x.p.status >= 400 && !x.p.embeddedError:
		x.writeErrorBody(x.p.status, x.p.status)
		return
	}

	x.id = x.s.seq.Add(1)
	x.created = time.Now().Unix()
	switch x.ep {
	case epChat:
		if x.p.toolCall != "" {
			x.chatTool()
		} else {
			x.chat()
		}
	case epResponses:
		if x.p.toolCall != "" {
			x.responsesTool()
		} else {
			x.responses()
		}
	case epMessages:
		if x.p.toolCall != "" {
			x.messagesTool()
		} else {
			x.messages()
		}
	case epCountTokens:
		x.buf = append(append(x.buf[:0], `{"input_tokens":`...), strconv.Itoa(x.p.tokens.prompt())...)
		x.respond(ctJSON, append(x.buf, '}'))
	case epModels:
		if x.format == formatAnthropic {
			x.respond(ctJSON, x.s.anthropicModels)
		} else {
			x.respond(ctJSON, x.s.openAIModels)
		}
	case epGeminiModels:
		x.respond(ctJSON, x.s.geminiModels)
	case epGeminiGenerate, epGeminiStream:
		if x.p.toolCall != "" {
			x.geminiTool()
		} else {
			x.gemini()
		}
	case epGeminiCount:
		x.buf = append(append(x.buf[:0], `{"totalTokens":`...), strconv.Itoa(x.p.tokens.prompt())...)
		x.respond(ctJSON, append(x.buf, '}'))
	}
}

func (x *exchange) readBody() error {
	body := x.r.Body
	if body == nil || body == http.NoBody {
		return nil
	}
	b := x.body[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		x.body = b
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(b) > maxBody {
			return errTooLarge
		}
	}
}

// presentedKey returns the key in the header the endpoint's format uses.
// Anthropic accepts x-api-key (SDK v1, Claude Code with ANTHROPIC_API_KEY)
// and Bearer (SDK v2, ANTHROPIC_AUTH_TOKEN); Gemini accepts x-goog-api-key
// and ?key=.
func (x *exchange) presentedKey() string {
	h := x.r.Header
	switch x.format {
	case formatAnthropic:
		if k := h.Get("X-Api-Key"); k != "" {
			return k
		}
		return bearer(h)
	case formatGemini:
		if k := h.Get("X-Goog-Api-Key"); k != "" {
			return k
		}
		return x.queryValue("key")
	default:
		return bearer(h)
	}
}

func bearer(h http.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

func (x *exchange) queryValue(name string) string {
	if x.r.URL.RawQuery == "" {
		return ""
	}
	if x.query == nil {
		x.query = x.r.URL.Query()
	}
	return x.query.Get(name)
}

// Header values shared by every response; net/http never mutates them.
var (
	ctJSON        = []string{"application/json"}
	ctGeminiArray = []string{"application/json; charset=UTF-8"}
	ctSSE         = []string{"text/event-stream; charset=utf-8"}
	ctGeminiSSE   = []string{"text/event-stream"}
	ctHTML        = []string{"text/html; charset=utf-8"}
	ctText        = []string{"text/plain; charset=utf-8"}
	noCache       = []string{"no-cache"}
	gzipValue     = []string{"gzip"}
	varyEncoding  = []string{"Accept-Encoding"}
)
