package proxy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"aether/internal/anthropic"
	"aether/internal/canon"
	"aether/internal/gemini"
	"aether/internal/jsonbody"
	"aether/internal/llm"
	"aether/internal/openai"
	"aether/internal/routing"
	"aether/internal/sse"
	"aether/internal/translate"
	"aether/internal/upstream"
)

// Translation (issue 12, docs/translation.md "In the gateway"): a
// candidate whose provider has no endpoint of the client's format is
// called in the upstream's API. The request body, the answer, its errors
// and its stream are translated; usage is read from the upstream's own
// bytes with the upstream's dialect, so what is recorded and billed is
// what passthrough to that upstream would record.

// translation is one attempt's translation; nil means passthrough.
type translation struct {
	client, upstream translate.API
	// dialect is the upstream's: auth, stream observer, body usage.
	dialect llm.Dialect
	// req is the client's decoded request, for the stream encoder.
	req   *canon.Request
	count bool // a count-tokens request
}

// dialects are the upstream dialects by API.
var dialects = map[translate.API]llm.Dialect{
	translate.OpenAIChat:        openai.Dialect{},
	translate.OpenAIResponses:   openai.Dialect{},
	translate.AnthropicMessages: anthropic.Dialect{},
	translate.Gemini:            gemini.Dialect{},
}

// clientAPI is the API the client called.
func (in *Inbound) clientAPI() translate.API {
	return cmp.Or(in.API, routing.ClientAPI(in.Dialect.Format()))
}

// errTranslate is a client body the translation cannot express; it is
// answered with 400 in the client's shape.
type errTranslate struct{ e *canon.Error }

func (e errTranslate) Error() string { return e.e.Error() }

// translateRequest builds the upstream body, path and query of a
// translated attempt.
func translateRequest(in *Inbound, api translate.API, upstreamModel string) (tx *translation, body []byte, path, rawQuery string, err error) {
	client := in.clientAPI()
	tx = &translation{client: client, upstream: api, dialect: dialects[api], count: in.Operation == llm.OpCountTokens}
	raw, injected := in.Body(upstreamModel)
	if in.ExpandHistory != nil {
		raw = in.ExpandHistory(raw)
	}
	if client == translate.Gemini {
		// Gemini names the model and the choice to stream in the URL; its
		// codec reads them as top-level members (docs/translation.md,
		// "Gemini").
		if raw, err = geminiClientBody(raw, in.Model, in.Stream, tx.count); err != nil {
			return nil, nil, "", "", errTranslate{&canon.Error{Status: http.StatusBadRequest, Type: canon.ErrInvalidRequest, Message: err.Error()}}
		}
	}
	body, tx.req, err = translate.Request(client, api, raw, upstreamModel)
	if err != nil {
		var ce *canon.Error
		if !errors.As(err, &ce) {
			ce = &canon.Error{Status: http.StatusBadRequest, Type: canon.ErrInvalidRequest, Message: err.Error()}
		}
		return nil, nil, "", "", errTranslate{ce}
	}
	if injected && tx.req != nil {
		tx.req.StreamUsage = false // the gateway asked for it, not the client
	}
	switch api {
	case translate.AnthropicMessages:
		path = "/v1/messages"
		if tx.count {
			path = "/v1/messages/count_tokens"
			body = keepMembers(body, "model", "messages", "system", "tools", "tool_choice", "thinking")
		}
	case translate.Gemini:
		path = gemini.RequestPath(upstreamModel, in.Stream)
		if tx.count {
			path = "/v1beta/models/" + url.PathEscape(upstreamModel) + ":countTokens"
			obj, perr := jsonbody.Parse(body)
			if perr == nil {
				inner := obj.Set("model", jsonbody.Quote("models/"+upstreamModel))
				body = append(append([]byte(`{"generateContentRequest":`), inner...), '}')
			}
		}
	case translate.OpenAIResponses:
		path = "/v1/responses"
	default:
		path = "/v1/chat/completions"
	}
	path, rawQuery, _ = strings.Cut(path, "?")
	return tx, body, path, rawQuery, nil
}

// geminiClientBody adds the path's model and stream choice to a Gemini
// client's body; a countTokens body wrapping a generateContentRequest is
// unwrapped first.
func geminiClientBody(raw []byte, model string, stream, count bool) ([]byte, error) {
	obj, err := jsonbody.Parse(raw)
	if err != nil {
		return nil, err
	}
	if inner := obj.Raw("generateContentRequest"); count && len(inner) > 0 && inner[0] == '{' {
		if obj, err = jsonbody.Parse(inner); err != nil {
			return nil, err
		}
	}
	b := obj.Set("model", jsonbody.Quote(model))
	if stream {
		if obj, err = jsonbody.Parse(b); err != nil {
			return nil, err
		}
		b = obj.Set("stream", []byte("true"))
	}
	return b, nil
}

// keepMembers keeps only the named top-level members of a JSON object: a
// count-tokens endpoint refuses generation settings such as max_tokens.
func keepMembers(body []byte, names ...string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	for k := range m {
		keep := false
		for _, n := range names {
			keep = keep || k == n
		}
		if !keep {
			delete(m, k)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// anthropicVersion is the Messages API version a translated request asks
// for when neither the client nor the endpoint's headers name one:
// Anthropic refuses a request without the header.
const anthropicVersion = "2023-06-01"

// headers completes a translated request's headers with what the upstream
// API requires and a client of another format does not send.
func (tx *translation) headers(h http.Header) {
	if tx.upstream == translate.AnthropicMessages && h.Get("Anthropic-Version") == "" {
		h.Set("Anthropic-Version", anthropicVersion)
	}
}

// writeTranslateError answers a client body the translation refused.
func writeTranslateError(w http.ResponseWriter, client translate.API, e *canon.Error, st *state) attemptResult {
	status := cmp.Or(e.Status, http.StatusBadRequest)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(translate.ErrorBody(client, e))
	st.out.Status, st.out.StatusCode, st.out.ErrorClass = llm.StatusFailed, status, llm.ErrClientRequest
	st.out.ErrorMessage = "the request cannot be translated for this upstream"
	return attemptResult{class: llm.ErrClientRequest, status: status, relayed: true}
}

// errorBody re-shapes an upstream's error answer for the client, status
// kept.
func (tx *translation) errorBody(status int, body []byte) []byte {
	_, out := translate.Error(tx.client, tx.upstream, status, body)
	return out
}

// answer translates a 2xx non-stream body.
func (tx *translation) answer(body []byte) ([]byte, error) {
	if !tx.count {
		return translate.Response(tx.client, tx.upstream, body)
	}
	var v struct {
		InputTokens *int64 `json:"input_tokens"`
		TotalTokens *int64 `json:"totalTokens"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	n := v.InputTokens
	if n == nil {
		n = v.TotalTokens
	}
	if n == nil {
		return nil, errors.New("proxy: count-tokens answer without a count")
	}
	return countAnswer(tx.client, *n), nil
}

// countAnswer is a count-tokens answer in the client's shape.
func countAnswer(client translate.API, n int64) []byte {
	if client == translate.Gemini {
		return []byte(`{"totalTokens":` + strconv.FormatInt(n, 10) + `}`)
	}
	return []byte(`{"input_tokens":` + strconv.FormatInt(n, 10) + `}`)
}

// estimateTokens answers a count-tokens request whose upstream API has no
// count endpoint (Chat Completions) with an estimate: a quarter of the
// request body's bytes, rounded up (README, "Translation between
// formats"). No upstream is called.
func (p *Proxy) estimateTokens(w http.ResponseWriter, in *Inbound, upstreamModel string, st *state) {
	if st.startRefused() {
		return
	}
	body, _ := in.Body(upstreamModel)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(countAnswer(in.clientAPI(), int64(len(body)+3)/4))
	st.out.Status, st.out.StatusCode = llm.StatusCompleted, http.StatusOK
	st.out.FirstByte = p.now().Sub(st.start)
}

// translateBodyLimit bounds a non-stream answer read whole to be
// translated (passthrough relays any size in constant memory); no model
// answer comes near it.
const translateBodyLimit = 64 << 20

// relayTranslatedBody reads a 2xx non-stream answer whole, records its
// usage as the upstream reports it, and writes it in the client's format.
func (p *Proxy) relayTranslatedBody(ctx context.Context, w http.ResponseWriter, tx *translation, resp *http.Response,
	timer *time.Timer, failure func() attemptResult, st *state) attemptResult {
	body, err := io.ReadAll(io.LimitReader(resp.Body, translateBodyLimit+1))
	if err != nil {
		return failure()
	}
	if len(body) > translateBodyLimit {
		return attemptResult{class: llm.ErrUpstreamOther, status: resp.StatusCode}
	}
	if upstream.LooksLikeHTML(resp.Header.Get("Content-Type"), body[:min(len(body), 512)]) {
		return attemptResult{class: llm.ErrHTMLPage, status: resp.StatusCode}
	}
	out, err := tx.answer(body)
	if err != nil {
		// A 2xx the upstream's codec cannot read (an error object in a
		// 200, say): not an answer, so the next candidate is tried.
		return attemptResult{class: llm.ErrEmbedded, status: resp.StatusCode}
	}
	if st.startRefused() {
		return abandoned
	}
	// Commit point.
	timer.Stop()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	st.out.FirstByte = p.now().Sub(st.start)
	if !tx.count {
		st.out.Usage = tx.dialect.BodyUsage(body)
	}
	cw := &clientWriter{w: w}
	_, _ = cw.Write(out)
	return p.settle(ctx, st, resp.StatusCode, upstream.Stop{
		Committed: true, Complete: cw.err == nil, ClientGone: cw.err != nil, CleanEnd: true,
	}, "upstream body ended early")
}

// relayTranslatedStream is relayStream for a translated attempt: the
// upstream's events are observed with the upstream's dialect (usage, how
// the stream ended) and written in the client's format. The commit point
// and the stream-end rules are relayStream's.
func (p *Proxy) relayTranslatedStream(ctx, actx context.Context, w http.ResponseWriter, in *Inbound, tx *translation, resp *http.Response,
	timer *time.Timer, failure func() attemptResult, st *state) attemptResult {
	rd := sse.NewReader(resp.Body) // every upstream is asked for SSE
	obs := tx.dialect.NewStream(false)
	var first sse.Event
	for {
		ev, err := rd.Next()
		if upstream.LooksLikeHTML(resp.Header.Get("Content-Type"), ev.Raw) {
			return attemptResult{class: llm.ErrHTMLPage, status: resp.StatusCode}
		}
		if err != nil && !(errors.Is(err, io.EOF) && len(ev.Data) > 0) {
			if actx.Err() != nil {
				return failure()
			}
			return attemptResult{class: llm.ErrStreamCut, status: resp.StatusCode}
		}
		if len(ev.Data) > 0 || ev.Name != "" {
			first = ev
			break
		}
	}
	if obs.IsError(first.Name, first.Data) {
		return attemptResult{class: llm.ErrEmbedded, status: resp.StatusCode}
	}
	if st.startRefused() {
		return abandoned
	}
	s := translate.NewStream(tx.client, tx.upstream, tx.req)
	// Commit point.
	timer.Stop()
	h := w.Header()
	if in.ArrayStream {
		h.Set("Content-Type", "application/json; charset=UTF-8")
	} else {
		h.Set("Content-Type", "text/event-stream")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	firstByte := p.now()
	st.out.FirstByte = firstByte.Sub(st.start)
	if st.billable {
		p.recorder.FirstByte(in.RequestID, firstByte)
	}
	cs := &clientStream{w: w, array: in.ArrayStream}
	clientGone, malformed := false, false
	ev, err := first, error(nil)
	for {
		obs.Observe(ev.Name, ev.Data)
		evs, terr := s.Event(ev.Name, ev.Data)
		if terr != nil {
			malformed = true
			break
		}
		if cs.write(evs) != nil || len(evs) > 0 && rc.Flush() != nil {
			clientGone = true
			break
		}
		if err != nil {
			break
		}
		ev, err = rd.Next()
		if err != nil && len(ev.Raw) == 0 {
			break
		}
	}
	clean := cleanEnd(err) && !malformed
	if !clientGone && clean && obs.Complete() {
		if cs.write(s.End()) != nil || cs.close() != nil || rc.Flush() != nil {
			clientGone = true
		}
	} else if !clientGone && clean && obs.Failed() {
		// The error event went out; a Gemini array still closes.
		_ = cs.close()
	}
	st.out.Usage = obs.Usage()
	return p.settle(ctx, st, resp.StatusCode, upstream.Stop{
		Committed: true, Stream: true, StreamFailed: obs.Failed(), Complete: obs.Complete(),
		ClientGone: clientGone, CleanEnd: clean,
	}, "upstream stream ended before its final event")
}

// clientStream writes translated events: SSE, or the elements of a JSON
// array for a Gemini stream without alt=sse.
type clientStream struct {
	w     io.Writer
	array bool
	n     int
	buf   bytes.Buffer
}

func (c *clientStream) write(evs []canon.SSE) error {
	if len(evs) == 0 {
		return nil
	}
	c.buf.Reset()
	for _, ev := range evs {
		if c.array {
			if c.n == 0 {
				c.buf.WriteByte('[')
			} else {
				c.buf.WriteByte(',')
			}
			c.buf.Write(ev.Data)
			c.buf.WriteByte('\n')
		} else {
			if ev.Name != "" {
				c.buf.WriteString("event: ")
				c.buf.WriteString(ev.Name)
				c.buf.WriteByte('\n')
			}
			c.buf.WriteString("data: ")
			c.buf.Write(ev.Data)
			c.buf.WriteString("\n\n")
		}
		c.n++
	}
	_, err := c.w.Write(c.buf.Bytes())
	return err
}

// close ends a JSON-array stream.
func (c *clientStream) close() error {
	if !c.array {
		return nil
	}
	end := "]"
	if c.n == 0 {
		end = "[]"
	}
	_, err := io.WriteString(c.w, end)
	return err
}
