// Package proxy is the hot path: it plans candidates for an authenticated
// request, tries them in order until one answers, relays the answer to the
// client untouched, and hands each step to accounting without waiting.
package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"aether/internal/breaker"
	"aether/internal/catalog"
	"aether/internal/limits"
	"aether/internal/llm"
	"aether/internal/routing"
	"aether/internal/translate"
	"aether/internal/upstream"
)

// Recorder receives the accounting events of each request. Calls must not
// block the response: implementations queue or journal and return.
// Start returns an error when the start event cannot be taken, which the
// proxy answers with 503 when accounting is fail-closed. A non-nil wait
// (fail-closed accounting) blocks until the event is durable and returns
// an error when it could not be made so; it may be called again and gives
// the same answer. Start calls failed, which must not block, as soon as
// that error is known. The proxy calls the upstream meanwhile and calls
// wait before anything reaches the client.
type Recorder interface {
	Start(meta llm.RequestMeta, plan []llm.Candidate, failed func(error)) (wait func() error, err error)
	FirstByte(requestID string, at time.Time)
	Finished(requestID string, out llm.Outcome)
}

// ErrShutdown is the cause the API server cancels request contexts with
// at its shutdown drain deadline (http.Server.BaseContext). The proxy then
// records the request as failed/shutdown with the usage seen so far:
// neither the client nor the upstream ended it.
var ErrShutdown = errors.New("the gateway is shutting down")

// shuttingDown reports whether ctx ended because the server cut it at
// shutdown, as opposed to the client going away.
func shuttingDown(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrShutdown) }

// Metrics observes the proxy; implemented by internal/metrics.
type Metrics interface {
	Attempt(format llm.Format, provider string, class llm.ErrorClass)
	Request(format llm.Format, model, provider string, status int, total, firstByte time.Duration, u llm.Usage)
	Refused(format llm.Format, reason string)
}

// Limits admits requests and bounds provider-key concurrency; implemented
// by internal/limits.
type Limits interface {
	Admit(c *catalog.Caller, now time.Time) *limits.Refusal
	Ended(c *catalog.Caller, requestID string, cost llm.PicoUSD, now time.Time)
	TryAcquire(keyID int64, maxSlots *int) (release func(), ok bool)
}

// Config tunes the proxy.
type Config struct {
	FirstByteTimeout time.Duration // default 30s
	RequestTimeout   time.Duration // bound on all attempts together; default 10m
	MaxAttempts      int           // default 5
	Order            routing.Order
	// FailOpenAccounting serves requests even when Started fails.
	FailOpenAccounting bool
	// Tracer, when set, traces each request and attempt (trace.go); nil
	// turns tracing off at the cost of a nil check.
	Tracer trace.Tracer
}

// Proxy serves proxied requests.
type Proxy struct {
	cfg      Config
	catalog  func() *catalog.Snapshot
	breakers *breaker.Set
	affinity *routing.Affinity
	// transport sends each attempt. The proxy never follows a redirect
	// and sets its own deadlines, so it calls the transport itself, not
	// through an http.Client (send).
	transport http.RoundTripper
	recorder  Recorder
	metrics   Metrics
	limits    Limits
	log       *slog.Logger
	now       func() time.Time
}

// New returns a Proxy.
func New(cfg Config, snapshot func() *catalog.Snapshot, breakers *breaker.Set, affinity *routing.Affinity,
	transport http.RoundTripper, rec Recorder, m Metrics, lim Limits, log *slog.Logger) *Proxy {
	cfg.FirstByteTimeout = cmp.Or(cfg.FirstByteTimeout, 30*time.Second)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, 10*time.Minute)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 5)
	cfg.Order = cmp.Or(cfg.Order, routing.OrderProvider)
	if transport == nil {
		transport = http.DefaultTransport
	}
	return &Proxy{
		cfg: cfg, catalog: snapshot, breakers: breakers, affinity: affinity,
		transport: transport, recorder: rec, metrics: m, limits: lim, log: log, now: time.Now,
	}
}

// send is what http.Client.Do does for a request whose redirects are never
// followed (a 3xx is the upstream's answer, classified like any other) and
// which has no client timeout: each attempt has its own deadlines, and a
// stream may legitimately run for many minutes. Going through the Client
// cost a copy of the request's headers per attempt.
func (p *Proxy) send(req *http.Request) (*http.Response, error) {
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		// As http.Client does: credentials in a base URL become basic auth.
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp == nil || resp.Body == nil {
		return nil, fmt.Errorf("proxy: transport %T returned no response or no body", p.transport)
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// http.Client fails a redirect whose Location does not parse
		// before it asks whether to follow it.
		if loc := resp.Header.Get("Location"); loc != "" {
			if _, perr := req.URL.Parse(loc); perr != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("failed to parse Location header %q: %w", loc, perr)
			}
		}
	}
	return resp, nil
}

// Inbound is a parsed client request.
type Inbound struct {
	RequestID string
	Caller    *catalog.Caller
	Dialect   llm.Dialect
	// API is the client's API within its format (OpenAI Chat or
	// Responses); empty means the format's main one (routing.ClientAPI).
	// A candidate of another API is served by translation.
	API       translate.API
	Operation llm.Operation
	Model     string
	Stream    bool
	// ArrayStream: a Gemini stream without alt=sse is a JSON array.
	ArrayStream bool
	// Body returns the body to send for an upstream model name, and
	// whether the gateway injected a usage request the client did not ask
	// for (whose answer must then be withheld from the client).
	Body func(upstreamModel string) (body []byte, injectedUsage bool)
	// Path returns the upstream path for an upstream model name.
	Path     func(upstreamModel string) string
	RawQuery string
	Header   http.Header
	Received time.Time
	// CorrelationID is the client's own X-Request-ID (sanitised), or "".
	CorrelationID string
	// WebSocket: the request is a message on a Responses WebSocket.
	WebSocket bool
	// ExpandHistory, when set, rewrites a Responses body whose
	// previous_response_id names an earlier response of the same
	// WebSocket into one carrying the whole conversation: an upstream of
	// another API keeps no state, so a translated attempt sends it all.
	ExpandHistory func(body []byte) []byte
}

// attemptResult is how one attempt ended before or at the commit point.
type attemptResult struct {
	class  llm.ErrorClass
	status int
	// committed: bytes reached the client; no more failover.
	committed bool
	// relayed: the upstream's own error response was handed to the client.
	relayed bool
}

// Serve handles one request end to end.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, in *Inbound) {
	r, rt := p.traceRequest(r, in)
	defer rt.end()
	snap := p.catalog()
	now := p.now()
	if p.limits != nil {
		if ref := p.limits.Admit(in.Caller, now); ref != nil {
			rt.refused(ref.Reason)
			p.refuse(w, in, ref)
			return
		}
	}
	var affinityKey int64
	m, known := snap.Model(in.Model)
	if known {
		affinityKey = p.affinity.Get(in.Caller.Key.ID, m.ID, now)
	}
	plan, err := routing.Select(snap, routing.Request{Caller: in.Caller, Model: in.Model, Format: in.Dialect.Format(), API: in.API, Now: now, AffinityKeyID: affinityKey}, p.breakers, p.cfg.Order)
	switch {
	case errors.Is(err, llm.ErrModelUnknown):
		rt.refused("unknown_model")
		noteAccess(w, "unknown_model", false)
		in.Dialect.WriteError(w, llm.KindNotFound, fmt.Sprintf("The model %.64q does not exist or is not served by this gateway.", in.Model))
		return
	case errors.Is(err, llm.ErrForbidden):
		rt.refused("forbidden")
		noteAccess(w, "forbidden", false)
		in.Dialect.WriteError(w, llm.KindPermission, fmt.Sprintf("This API key may not use model %.64q with the %s API.", in.Model, in.Dialect.Format()))
		return
	case err != nil:
		rt.refused("internal")
		noteAccess(w, "internal", false)
		in.Dialect.WriteError(w, llm.KindInternal, "routing failed")
		return
	}
	billable := in.Operation == llm.OpGenerate
	meta := llm.RequestMeta{
		RequestID: in.RequestID, UserID: in.Caller.User.ID, User: in.Caller.User.Name, APIKeyID: in.Caller.Key.ID,
		Model: plan.Model.Name, Format: in.Dialect.Format(), Operation: in.Operation, Stream: in.Stream,
		ReceivedAt: in.Received, Deadline: in.Received.Add(p.cfg.RequestTimeout), CorrelationID: in.CorrelationID,
		WebSocket: in.WebSocket, TraceParent: rt.traceParent(),
	}
	var durable func() error
	if billable {
		all := append(append(make([]llm.Candidate, 0, len(plan.Candidates)+len(plan.Skipped)), plan.Candidates...), plan.Skipped...)
		ctx, abort := r.Context(), context.CancelCauseFunc(nil)
		if !p.cfg.FailOpenAccounting {
			// A failed durable start cancels the upstream call under way.
			ctx, abort = context.WithCancelCause(ctx)
			defer abort(nil)
		}
		wait, err := p.recorder.Start(meta, all, abort)
		switch {
		case err != nil && !p.cfg.FailOpenAccounting:
			p.refuseUnrecorded(w, in, rt)
			return
		case err != nil:
			p.log.Error("accounting journal write failed; serving unrecorded (AETHER_ACCOUNTING_FAILURE_MODE=open)", "request_id", in.RequestID, "error", err)
			billable = false
		case wait != nil:
			durable, r = wait, r.WithContext(ctx)
		}
	}
	out := p.run(w, r, in, snap, plan, meta, billable, durable, rt)
	if durable != nil && durable() != nil {
		// The start's write failed while the upstream was called: nothing
		// reached the client (every write waits for the start), the
		// attempt was cancelled, and the request leaves no record. The
		// upstream may have done, and billed, some work for it.
		if p.metrics != nil && len(out.Attempts) > 0 {
			p.metrics.Refused(in.Dialect.Format(), "journal_after_upstream")
		}
		p.log.Warn("accounting journal write failed after the upstream was called; attempt abandoned, request refused",
			"request_id", in.RequestID, "attempts", len(out.Attempts), "error", durable())
		p.refuseUnrecorded(w, in, rt)
		return
	}
	if billable {
		p.recorder.Finished(in.RequestID, out)
	}
	answered, ok := out.Answered(plan.Candidates)
	rt.finish(out, answered, ok)
	if billable && ok && p.limits != nil {
		if cost, priced := snap.Cost(plan.Model, answered, out.Usage, out.Status == llm.StatusCompleted); priced {
			p.limits.Ended(in.Caller, in.RequestID, cost, p.now())
		}
	}
	provider := answered.Provider
	if p.metrics != nil {
		p.metrics.Request(in.Dialect.Format(), plan.Model.Entry(), provider, out.StatusCode, out.Total, out.FirstByte, out.Usage)
	}
	// One access line per request: IDs, counts and classes, never a body or key.
	noteAccess(w, string(out.ErrorClass), true)
	p.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("request_id", in.RequestID), slog.String("format", string(in.Dialect.Format())),
		slog.String("model", plan.Model.Name), slog.String("provider", provider), slog.Bool("stream", in.Stream),
		slog.String("status", string(out.Status)), slog.Int("status_code", out.StatusCode),
		slog.Int("attempts", len(out.Attempts)), slog.String("error", string(out.ErrorClass)),
		slog.Int64("total_tokens", out.Usage.TotalTokens()), slog.Int64("duration_ms", out.Total.Milliseconds()),
		slog.Int64("api_key_id", in.Caller.Key.ID))
	if out.ErrorClass == llm.ErrStreamCut || out.ErrorClass == llm.ErrStreamTruncated || out.ErrorClass == llm.ErrShutdown && out.FirstByte > 0 {
		// After the commit point (FirstByte is set there) the only honest
		// signal is a broken connection, never an error appended to a
		// half-sent body.
		panic(http.ErrAbortHandler)
	}
}

// refuseUnrecorded answers 503 to a request whose start event could not
// be journaled (fail-closed accounting).
func (p *Proxy) refuseUnrecorded(w http.ResponseWriter, in *Inbound, rt *reqTrace) {
	w.Header().Set("Retry-After", "5")
	rt.refused("journal_unavailable")
	noteAccess(w, "journal_unavailable", false)
	in.Dialect.WriteError(w, llm.KindUnavailable, "The gateway cannot record requests right now; try again shortly.")
}

// refuse answers a request the limits turned away: 429 for rate limits and
// budgets, 503 when limit state cannot be read (fail-closed).
func (p *Proxy) refuse(w http.ResponseWriter, in *Inbound, ref *limits.Refusal) {
	if p.metrics != nil {
		p.metrics.Refused(in.Dialect.Format(), ref.Reason)
	}
	w.Header().Set("Retry-After", strconv.Itoa(limits.Seconds(ref.RetryAfter)))
	kind := llm.KindRateLimit
	if ref.Reason == "limits_unavailable" {
		kind = llm.KindUnavailable
	}
	noteAccess(w, ref.Reason, false)
	in.Dialect.WriteError(w, kind, ref.Message)
}

// run walks the candidates and returns the request's outcome.
func (p *Proxy) run(w http.ResponseWriter, r *http.Request, in *Inbound, snap *catalog.Snapshot, plan routing.Plan, meta llm.RequestMeta, billable bool, durable func() error, rt *reqTrace) llm.Outcome {
	ctx, cancel := context.WithDeadline(r.Context(), meta.Deadline)
	defer cancel()
	out := llm.Outcome{CandidateIndex: -1}
	st := &state{out: &out, start: in.Received, billable: billable, durable: durable, snap: snap}
	finish := func() llm.Outcome {
		out.FinishedAt = p.now()
		out.Total = out.FinishedAt.Sub(in.Received)
		return out
	}
	var last attemptResult
	tried, busy := 0, 0
	var refused []int64
	for _, c := range plan.Candidates {
		if tried >= p.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		if in.Operation == llm.OpCountTokens && c.UpstreamAPI == string(translate.OpenAIChat) {
			// Chat Completions has no count endpoint: estimated, no call.
			p.estimateTokens(w, in, c.UpstreamModel, st)
			out.CandidateIndex = c.Index
			return finish()
		}
		release := func() {}
		if k := snap.ProviderKey(c.KeyID); p.limits != nil && k != nil {
			rel, ok := p.limits.TryAcquire(c.KeyID, k.MaxConcurrent)
			if !ok {
				busy++
				continue // the key is at its concurrency limit: try the next
			}
			release = rel
		}
		before := p.breakers.State(c.KeyID)
		done, ok := p.breakers.Allow(c.KeyID)
		if !ok {
			release()
			refused = append(refused, c.KeyID)
			continue // half-open with every probe slot taken, or just opened
		}
		tried++
		started := p.now()
		actx, span := rt.attempt(ctx, c)
		res := p.attempt(actx, w, in, plan.Model, c, st)
		release()
		// The verdict (fail over? count against the key? move affinity?)
		// is the classification table's, not the proxy's.
		v := upstream.Judge(res.class, res.committed)
		att := llm.Attempt{CandidateIndex: c.Index, KeyID: c.KeyID, StartedAt: started, Latency: p.now().Sub(started), StatusCode: res.status, ErrorClass: res.class, Outcome: v.Outcome}
		done(v.Breaker)
		endAttempt(span, res, v)
		switch {
		case v.Breaker == breaker.Success:
			p.affinity.Succeeded(in.Caller.Key.ID, plan.Model.ID, c.KeyID, p.now())
		case v.MoveAffinity:
			p.affinity.Failed(in.Caller.Key.ID, plan.Model.ID, c.KeyID)
		}
		out.Attempts = append(out.Attempts, att)
		if after := p.breakers.State(c.KeyID); after != before {
			ch := llm.BreakerChange{KeyID: c.KeyID, State: string(after), At: p.now()}
			if after == breaker.Open {
				ch.OpenUntil = ch.At.Add(p.breakers.OpenFor())
			}
			out.BreakerChanges = append(out.BreakerChanges, ch)
		}
		if p.metrics != nil {
			p.metrics.Attempt(in.Dialect.Format(), c.Provider, res.class)
		}
		last = res
		if res.relayed || !v.FailOver {
			out.CandidateIndex = c.Index
			return finish()
		}
		p.log.Debug("attempt failed; trying next candidate", "request_id", in.RequestID, "provider", c.Provider, "error", string(res.class), "status", res.status)
	}
	// Nothing answered.
	if st.startRefused() {
		return finish() // Serve answers 503
	}
	if shuttingDown(ctx) {
		// Cut at the shutdown deadline before any answer: the client may
		// retry at once, on another replica.
		out.Status, out.StatusCode, out.ErrorClass = llm.StatusFailed, llm.KindUnavailable.Status(), llm.ErrShutdown
		out.ErrorMessage = "the gateway shut down before an upstream answered"
		w.Header().Set("Retry-After", "1")
		in.Dialect.WriteError(w, llm.KindUnavailable, "The gateway is restarting; retry the request.")
		return finish()
	}
	if r.Context().Err() != nil {
		out.Status, out.StatusCode, out.ErrorClass = llm.StatusCancelled, 499, llm.ErrClientCancelled
		return finish()
	}
	if tried == 0 && busy > 0 {
		// Every usable key is at its concurrency limit: the caller should
		// slow down, not think the service is down.
		out.Status, out.StatusCode, out.ErrorClass = llm.StatusFailed, llm.KindRateLimit.Status(), llm.ErrRateLimited
		out.ErrorMessage = "every provider key for this model is at its concurrency limit"
		if p.metrics != nil {
			p.metrics.Refused(in.Dialect.Format(), "concurrency")
		}
		w.Header().Set("Retry-After", "1")
		in.Dialect.WriteError(w, llm.KindRateLimit, "Too many concurrent requests for this model; retry shortly.")
		return finish()
	}
	out.Status, out.StatusCode = llm.StatusFailed, llm.KindUnavailable.Status()
	msg := "No upstream is available for this model right now."
	if tried == 0 {
		out.ErrorClass = llm.ErrNoCandidate
		keys := refused
		for _, s := range plan.Skipped {
			keys = append(keys, s.KeyID)
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(p.breakers.Earliest(keys, p.now()).Seconds()))))
	} else {
		out.ErrorClass = last.class
		msg = fmt.Sprintf("All %d upstream attempts failed (last: %s).", tried, last.class)
		w.Header().Set("Retry-After", "1")
	}
	out.ErrorMessage = msg
	in.Dialect.WriteError(w, llm.KindUnavailable, msg)
	return finish()
}

// state is what the attempts of one request share.
type state struct {
	out      *llm.Outcome
	start    time.Time
	billable bool
	// durable waits for the start event to be on disk (fail-closed
	// accounting); nil when there is nothing to wait for.
	durable func() error
	// snap is the configuration the request was planned with; every
	// attempt uses it, so a reload mid-request cannot mix two versions.
	snap *catalog.Snapshot
}

// startRefused waits until the request's start event is on disk and
// reports whether its write failed. Fail-closed accounting calls the
// upstream while the start is written, so every write to the client, and
// every answer the proxy makes itself, comes after this.
func (st *state) startRefused() bool { return st.durable != nil && st.durable() != nil }

// abandoned is an attempt the gateway cancels because the request's start
// could not be journaled: it counts as cancelled, never against the key.
var abandoned = attemptResult{class: llm.ErrClientCancelled}

// errWait is the cause an attempt's context is cancelled with when its
// wait before the commit point expires.
var errWait = errors.New("upstream too slow")

// attempt tries one candidate. Up to the commit point it writes nothing to
// w; from the commit point on it owns the response.
func (p *Proxy) attempt(ctx context.Context, w http.ResponseWriter, in *Inbound, m *catalog.Model, c llm.Candidate, st *state) attemptResult {
	prov := st.snap.Provider(c.ProviderID)
	key := st.snap.ProviderKey(c.KeyID)
	if prov == nil || key == nil {
		return attemptResult{class: llm.ErrUpstreamOther}
	}
	ep, api := routing.Endpoint(prov, in.Dialect.Format(), in.clientAPI())
	if ep == nil || string(api) != c.UpstreamAPI {
		return attemptResult{class: llm.ErrUpstreamOther}
	}
	var (
		tx       *translation
		body     []byte
		injected bool
		path     string
		rawQuery = in.RawQuery
		dialect  = in.Dialect
	)
	if api == "" {
		body, injected = in.Body(c.UpstreamModel)
		path = in.Path(c.UpstreamModel)
	} else {
		var err error
		tx, body, path, rawQuery, err = translateRequest(in, api, cmp.Or(c.UpstreamModel, in.Model))
		var te errTranslate
		if errors.As(err, &te) {
			if st.startRefused() {
				return abandoned
			}
			return writeTranslateError(w, in.clientAPI(), te.e, st)
		}
		dialect = tx.dialect
	}

	// Deadline before the commit point: headers (and for a stream, its
	// first event) must arrive within it.
	wait := ep.Timeout
	if in.Stream {
		wait = cmp.Or(ep.FirstByteTimeout, p.cfg.FirstByteTimeout)
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(wait, func() { cancel(errWait) })
	defer timer.Stop()

	req, err := upstream.Build(actx, upstream.Request{
		BaseURL: ep.BaseURL, Path: path, RawQuery: rawQuery,
		Client: in.Header, Extra: ep.Headers, Dialect: dialect, Key: key.Secret, Body: body,
	})
	if err != nil {
		return attemptResult{class: llm.ErrConnect}
	}
	if tx != nil {
		tx.headers(req.Header)
	}
	// failure classifies an error before the commit point (the facts are
	// gathered here; upstream.ClassifyStop names the class).
	failure := func() attemptResult {
		class := upstream.ClassifyStop(upstream.Stop{
			Stream: in.Stream, WaitExpired: errors.Is(context.Cause(actx), errWait), Shutdown: shuttingDown(ctx),
			Ended: ctx.Err() != nil, Deadline: errors.Is(ctx.Err(), context.DeadlineExceeded),
		})
		if class == llm.ErrClientCancelled {
			return attemptResult{class: class, status: 499}
		}
		return attemptResult{class: class}
	}
	resp, err := p.send(req)
	if err != nil {
		return failure()
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		class := upstream.ClassifyResponse(resp.StatusCode, resp.Header.Get("Content-Type"), errBody)
		if upstream.Judge(class, false).FailOver {
			return attemptResult{class: class, status: resp.StatusCode}
		}
		// The request itself is at fault: hand the upstream's answer to
		// the client unchanged.
		timer.Stop()
		if st.startRefused() {
			return abandoned
		}
		if tx != nil {
			errBody = tx.errorBody(resp.StatusCode, errBody)
			w.Header().Set("Content-Type", "application/json")
			copyHeader(w.Header(), resp.Header, "Retry-After")
		} else {
			copyHeader(w.Header(), resp.Header, "Content-Type", "Retry-After")
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(errBody)
		st.out.Status, st.out.StatusCode, st.out.ErrorClass = llm.StatusFailed, resp.StatusCode, llm.ErrClientRequest
		st.out.ErrorMessage = "upstream rejected the request"
		return attemptResult{class: class, status: resp.StatusCode, relayed: true}
	}
	switch {
	case tx != nil && in.Stream:
		return p.relayTranslatedStream(ctx, actx, w, in, tx, resp, timer, failure, st)
	case tx != nil:
		return p.relayTranslatedBody(ctx, w, tx, resp, timer, failure, st)
	case in.Stream:
		return p.relayStream(ctx, actx, w, in, resp, injected, timer, failure, st)
	}
	return p.relayBody(ctx, w, in, resp, timer, failure, st)
}
