package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"aether/internal/jsonbody"
	"aether/internal/llm"
	"aether/internal/proxy"
	"aether/internal/translate"
)

// The Responses API over WebSocket (docs/wire-formats.md): a client such
// as Codex opens GET /v1/responses with Upgrade: websocket and sends one
// {"type":"response.create",...} text message per request. Each message
// becomes one proxied request over the HTTP SSE route, with its own
// request ID, limits, failover and record; each upstream event goes back
// as one text message.

// wsReadLimit bounds one client message, like a request body.
func (s *Server) wsReadLimit() int64 { return s.cfg.MaxBodyBytes }

// responsesWebSocket serves GET /v1/responses: the WebSocket upgrade, after
// the same authentication as POST. A GET without Upgrade is not a route.
func (s *Server) responsesWebSocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		refuse(w, dOpenAI, llm.KindMethodNotAllowed, reasonMethodNotAllowed, "GET /v1/responses is a WebSocket upgrade; use POST for HTTP.")
		return
	}
	key := gatewayKey(r)
	// No compression: Codex accepts it, and it costs CPU per event.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled, InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the client
	}
	conn.SetReadLimit(s.wsReadLimit())
	r = r.Clone(r.Context())
	r.Header = upstreamHeader(r.Header)
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	draining, done := s.sockets.add()
	defer done()
	// The reader runs for the connection's life, so pings are answered
	// and a client close cancels the response in flight.
	// Its context is not the request's: coder/websocket closes the
	// connection, without a close frame, when a Read's context ends, and
	// a shutdown cut must still send 1001.
	rctx, stopReading := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReading()
	msgs := make(chan []byte, 4)
	go func() {
		defer close(msgs)
		for {
			typ, data, err := conn.Read(rctx)
			if err != nil {
				cancel(errClientClosed)
				return
			}
			if typ != websocket.MessageText {
				data = nil // answered as malformed
			}
			select {
			case msgs <- data:
			case <-ctx.Done():
				return
			case <-rctx.Done():
				return
			}
		}
	}()
	idle := time.NewTimer(s.wsIdle())
	defer idle.Stop()
	hist := &wsHistory{}
	var lifetime <-chan time.Time
	if s.cfg.WebSocketMaxLifetime > 0 {
		t := time.NewTimer(s.cfg.WebSocketMaxLifetime)
		defer t.Stop()
		lifetime = t.C
	}
	for {
		select {
		case data, ok := <-msgs:
			if !ok {
				return
			}
			s.wsMessage(ctx, conn, r, key, data, hist)
			if ctx.Err() != nil {
				s.wsClose(conn, ctx)
				return
			}
			select {
			case <-draining:
				_ = conn.Close(websocket.StatusGoingAway, "the gateway is restarting")
				return
			default:
			}
			idle.Reset(s.wsIdle())
		case <-draining:
			_ = conn.Close(websocket.StatusGoingAway, "the gateway is restarting")
			return
		case <-idle.C:
			_ = conn.Close(websocket.StatusNormalClosure, "idle timeout")
			return
		case <-lifetime:
			// OpenAI's own limit uses this code; Codex reconnects.
			_ = conn.Close(websocket.StatusNormalClosure, "connection lifetime reached")
			return
		case <-ctx.Done():
			s.wsClose(conn, ctx)
			return
		}
	}
}

// errClientClosed is the cause of a connection's context when the client
// closed it or went away.
var errClientClosed = errors.New("websocket closed by the client")

// wsClose closes a connection whose context ended, with the close code its
// cause calls for.
func (s *Server) wsClose(conn *websocket.Conn, ctx context.Context) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errClientClosed):
		_ = conn.CloseNow()
	case errors.Is(cause, proxy.ErrShutdown):
		_ = conn.Close(websocket.StatusGoingAway, "the gateway is restarting")
	default:
		_ = conn.CloseNow()
	}
}

func (s *Server) wsIdle() time.Duration {
	if s.cfg.WebSocketIdleTimeout > 0 {
		return s.cfg.WebSocketIdleTimeout
	}
	return 5 * time.Minute
}

// wsMessage serves one client message: a response.create becomes one
// proxied request; anything else gets an error event.
func (s *Server) wsMessage(ctx context.Context, conn *websocket.Conn, r *http.Request, key string, data []byte, hist *wsHistory) {
	sink := &wsSink{ctx: ctx, conn: conn, header: http.Header{}}
	fail := func(status int, code, msg string) {
		sink.sendError(status, []byte(`{"type":"invalid_request_error","code":`+string(jsonbody.Quote(code))+`,"message":`+string(jsonbody.Quote(msg))+`}`), nil)
	}
	// A message counts against the in-flight body budget like a POST
	// body, until its request is over.
	if !s.bodies.acquire(int64(len(data))) {
		fail(http.StatusServiceUnavailable, "overloaded", "The gateway is holding too many request bodies; retry shortly.")
		return
	}
	defer s.bodies.release(int64(len(data)))
	obj, err := jsonbody.Parse(data)
	if data == nil || err != nil {
		fail(http.StatusBadRequest, "invalid_json", "The message is not a JSON object.")
		return
	}
	if t, _ := obj.String("type"); t != "response.create" {
		fail(http.StatusBadRequest, "unsupported_message_type", "Only response.create messages are supported.")
		return
	}
	model, ok := obj.String("model")
	if !ok || model == "" {
		fail(http.StatusBadRequest, "missing_model", `The request has no "model".`)
		return
	}
	// The key may have been revoked since the upgrade.
	snap := s.catalog()
	if snap == nil {
		fail(http.StatusServiceUnavailable, "unavailable", "The gateway is starting.")
		return
	}
	c, err := snap.Authenticate(key, s.now())
	if err != nil {
		fail(http.StatusUnauthorized, "invalid_api_key", "Invalid API key.")
		return
	}
	if obj.Raw("generate") != nil && string(obj.Raw("generate")) == "false" {
		id := s.wsWarmup(sink, model)
		// Codex may name the warmup as the next request's
		// previous_response_id: its input, if any, is that turn's.
		hist.id, hist.items = id, inputItems(obj.Raw("input"))
		return
	}
	id := newID()
	rctx := context.WithValue(ctx, keyRequestID, id)
	rctx = context.WithValue(rctx, keyCaller, c)
	req := r.WithContext(rctx)
	in := s.inbound(req, dOpenAI, llm.OpGenerate)
	in.Model = model
	in.Stream = true
	in.WebSocket = true
	body := upstreamCreateBody(obj)
	ub := &upstreamBody{obj: body, model: model}
	in.Body = ub.forModel
	in.Path = fixedPath("/v1/responses")
	in.API = translate.OpenAIResponses
	var turn []json.RawMessage // the whole input, once a translated attempt asked
	in.ExpandHistory = func(b []byte) []byte {
		out, items := hist.expand(b)
		turn = items
		return out
	}
	start := time.Now()
	func() {
		// The proxy aborts a cut stream with http.ErrAbortHandler; over a
		// WebSocket the record is already written, and the connection goes.
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
					panic(v)
				}
				sink.aborted = true
			}
		}()
		s.proxy.Serve(sink, req, in)
	}()
	sink.end()
	hist.remember(turn, sink.completed)
	s.wsAccess(req, sink, start)
	if sink.aborted && ctx.Err() == nil {
		// A cut upstream stream: as over HTTP, the only honest signal is
		// a broken connection; Codex retries on a new one.
		_ = conn.Close(websocket.StatusInternalError, "upstream stream cut")
	}
}

// upstreamHeader is the upgrade's header without what belongs to the
// WebSocket handshake, for the upstream POSTs: the upstream call is plain
// HTTP, so it must not ask for WebSocket mode.
func upstreamHeader(h http.Header) http.Header {
	out := h.Clone()
	for k := range out {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Sec-Websocket-") {
			delete(out, k)
		}
	}
	out.Del("Upgrade")
	out.Del("Connection")
	if v := out.Values("Openai-Beta"); len(v) > 0 {
		out.Del("Openai-Beta")
		for _, b := range v {
			if !strings.HasPrefix(strings.TrimSpace(b), "responses_websockets") {
				out.Add("Openai-Beta", b)
			}
		}
	}
	return out
}

// upstreamCreateBody is the message as a POST /v1/responses body: the
// fields of response.create except "type" and "generate", with
// "stream":true.
func upstreamCreateBody(obj *jsonbody.Object) *jsonbody.Object {
	var b bytes.Buffer
	b.Grow(len(obj.Body) + 16)
	b.WriteByte('{')
	n := 0
	for _, f := range obj.Fields {
		if f.Key == "type" || f.Key == "generate" || f.Key == "stream" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonbody.Quote(f.Key))
		b.WriteByte(':')
		b.Write(obj.Body[f.Start:f.End])
		n++
	}
	if n > 0 {
		b.WriteByte(',')
	}
	b.WriteString(`"stream":true}`)
	out, err := jsonbody.Parse(b.Bytes())
	if err != nil { // cannot happen: the parts came from a parsed object
		return obj
	}
	return out
}

// wsWarmup answers Codex's prewarm (generate:false) locally: a created and
// a completed event with no output, no upstream call and no record.
func (s *Server) wsWarmup(sink *wsSink, model string) (id string) {
	id = "resp_" + strings.ReplaceAll(newID(), "-", "")
	at := strconv.FormatInt(s.now().Unix(), 10)
	resp := `{"id":"` + id + `","object":"response","created_at":` + at + `,"model":` + string(jsonbody.Quote(model)) + `,"output":[],"usage":null,"status":"%s"}`
	sink.send([]byte(`{"type":"response.created","response":` + strings.Replace(resp, "%s", "in_progress", 1) + `}`))
	sink.send([]byte(`{"type":"response.completed","response":` + strings.Replace(resp, "%s", "completed", 1) + `}`))
	return id
}

// wsAccess counts the response of one message and writes its access line
// when the proxy did not.
func (s *Server) wsAccess(r *http.Request, sink *wsSink, start time.Time) {
	status := sink.status
	if status == 0 {
		status = http.StatusOK
	}
	reason := sink.reason
	if reason == "" {
		reason = reasonOK
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.Response(string(llm.FormatOpenAI), status, reason)
	}
	if sink.logged || s.cfg.Log == nil {
		return
	}
	s.cfg.Log.Info("request", "request_id", RequestID(r.Context()), "format", string(llm.FormatOpenAI),
		"method", "WEBSOCKET", "route", "/v1/responses", "status_code", status, "reason", reason,
		"duration_ms", time.Since(start).Milliseconds())
}

// wsSink is the http.ResponseWriter the proxy writes one request's answer
// to: each SSE event's data goes to the client as one text message, and
// an error answer as one "error" event in the Responses shape.
type wsSink struct {
	ctx     context.Context
	conn    *websocket.Conn
	header  http.Header
	status  int
	line    []byte // a partial SSE line
	data    []byte // the data lines of the event being read
	hasData bool
	errBody []byte
	err     error
	reason  string
	logged  bool
	aborted bool
	// completed is the response.completed event's data, kept for
	// wsHistory.
	completed []byte
}

func (s *wsSink) Header() http.Header { return s.header }

func (s *wsSink) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

// NoteAccess takes the proxy's access note (see internal/proxy/access.go).
func (s *wsSink) NoteAccess(reason string, logged bool) { s.reason, s.logged = reason, logged }

// FlushError lets http.ResponseController flush: messages are sent whole.
func (s *wsSink) FlushError() error { return s.err }

func (s *wsSink) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.status >= 300 {
		if len(s.errBody) < 64<<10 {
			s.errBody = append(s.errBody, b...)
		}
		return len(b), nil
	}
	rest := b
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			s.line = append(s.line, rest...)
			break
		}
		line := rest[:i]
		if len(s.line) > 0 {
			s.line = append(s.line, line...)
			line = s.line
		}
		s.field(bytes.TrimSuffix(line, []byte("\r")))
		s.line = s.line[:0]
		rest = rest[i+1:]
		if s.err != nil {
			return 0, s.err
		}
	}
	return len(b), nil
}

// field handles one SSE line: data lines gather, a blank line sends.
func (s *wsSink) field(line []byte) {
	switch {
	case len(line) == 0:
		s.dispatch()
	case bytes.HasPrefix(line, []byte("data:")):
		v := bytes.TrimPrefix(line[5:], []byte(" "))
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, v...)
		s.hasData = true
	}
}

func (s *wsSink) dispatch() {
	if !s.hasData {
		return
	}
	if !bytes.Equal(s.data, []byte("[DONE]")) {
		s.send(s.data)
		if bytes.Contains(s.data, []byte(`"response.completed"`)) {
			var ev struct{ Type string }
			if json.Unmarshal(s.data, &ev) == nil && ev.Type == "response.completed" {
				s.completed = bytes.Clone(s.data)
			}
		}
	}
	s.data, s.hasData = s.data[:0], false
}

func (s *wsSink) send(msg []byte) {
	if s.err != nil {
		return
	}
	s.err = s.conn.Write(s.ctx, websocket.MessageText, msg)
}

// end sends what the answer left: an event without its final blank line,
// or an error answer as an error event.
func (s *wsSink) end() {
	if len(s.line) > 0 {
		s.field(s.line)
		s.line = s.line[:0]
	}
	s.dispatch()
	if s.status < 300 || s.ctx.Err() != nil {
		return
	}
	errObj := []byte(`{"type":"server_error","message":"upstream request failed"}`)
	if obj, err := jsonbody.Parse(s.errBody); err == nil {
		if e := obj.Raw("error"); len(e) > 0 && e[0] == '{' {
			errObj = e
		}
	}
	s.sendError(s.status, errObj, s.header)
}

// sendError sends {"type":"error","status":...,"error":{...}}; Codex
// ignores an error event without "status".
func (s *wsSink) sendError(status int, errObj []byte, h http.Header) {
	var b bytes.Buffer
	b.WriteString(`{"type":"error","status":`)
	b.WriteString(strconv.Itoa(status))
	b.WriteString(`,"error":`)
	b.Write(errObj)
	if ra := h.Get("Retry-After"); ra != "" {
		b.WriteString(`,"headers":{"retry-after":`)
		b.Write(jsonbody.Quote(ra))
		b.WriteByte('}')
	}
	b.WriteByte('}')
	s.send(b.Bytes())
}

// sockets tracks open WebSocket connections, which http.Server.Shutdown
// does not (they are hijacked).
type sockets struct {
	mu       sync.Mutex
	n        int
	draining chan struct{}
	idle     chan struct{} // closed when n reaches 0 while draining
}

func newSockets() *sockets { return &sockets{draining: make(chan struct{})} }

// add registers a connection; the channel closes when the gateway drains.
func (t *sockets) add() (draining <-chan struct{}, done func()) {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
	return t.draining, func() {
		t.mu.Lock()
		t.n--
		if t.n == 0 && t.idle != nil {
			close(t.idle)
			t.idle = nil
		}
		t.mu.Unlock()
	}
}

// DrainWebSockets asks every WebSocket connection to close with 1001
// (going away) once its response in flight, if any, has ended, and waits
// until they have or ctx ends. At the shutdown deadline the server's base
// context is cancelled with proxy.ErrShutdown, which cuts the responses
// still running; their connections then close with 1001 too.
func (s *Server) DrainWebSockets(ctx context.Context) error {
	t := s.sockets
	t.mu.Lock()
	select {
	case <-t.draining:
	default:
		close(t.draining)
	}
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wsHistory is a WebSocket's last translated turn. Codex sends each
// request after the first with previous_response_id and only the new
// input items (docs/wire-formats.md, "Responses over WebSocket"); OpenAI
// keeps the conversation, an upstream of another API does not, so the
// gateway keeps it for requests it translates and sends it whole
// (issue 12). Passthrough requests keep nothing here.
type wsHistory struct {
	id    string            // the last translated response's id
	items []json.RawMessage // that request's whole input, then its output
}

// expand resolves a previous_response_id naming the last translated
// response into the full input, and returns the body with the request's
// whole input items. Another previous_response_id is left for the codec
// to refuse (400): its history is at OpenAI, or lost with an older socket.
func (h *wsHistory) expand(body []byte) ([]byte, []json.RawMessage) {
	var req struct {
		Prev  string          `json:"previous_response_id"`
		Input json.RawMessage `json:"input"`
	}
	if json.Unmarshal(body, &req) != nil {
		return body, nil
	}
	items := inputItems(req.Input)
	if req.Prev == "" {
		return body, items
	}
	if req.Prev != h.id {
		return body, nil
	}
	all := append(slices.Clone(h.items), items...)
	arr, err := json.Marshal(all)
	if err != nil {
		return body, nil
	}
	obj, err := jsonbody.Parse(body)
	if err != nil {
		return body, nil
	}
	if obj, err = jsonbody.Parse(obj.Set("input", arr)); err != nil {
		return body, nil
	}
	return obj.Set("previous_response_id", []byte("null")), all
}

// inputItems reads a Responses input: a list of items, or one string (a
// user message).
func inputItems(raw json.RawMessage) []json.RawMessage {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) == nil {
		return items
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		m, _ := json.Marshal(map[string]string{"role": "user", "content": text})
		return []json.RawMessage{m}
	}
	return nil
}

// remember keeps a translated turn (its whole input) with the output of
// its response.completed; any other turn clears the history.
func (h *wsHistory) remember(turn []json.RawMessage, completed []byte) {
	h.id, h.items = "", nil
	if turn == nil || completed == nil {
		return
	}
	var ev struct {
		Response struct {
			ID     string            `json:"id"`
			Output []json.RawMessage `json:"output"`
		} `json:"response"`
	}
	if json.Unmarshal(completed, &ev) != nil || ev.Response.ID == "" {
		return
	}
	h.id, h.items = ev.Response.ID, append(turn, ev.Response.Output...)
}
