package proxy_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"aether/internal/breaker"
	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/openai"
	"aether/internal/proxy"
	"aether/internal/routing"
	"aether/internal/store"
	"aether/internal/testkit/memrecorder"
)

// Chat Completions streams of the two upstreams. Provider a is tried
// first; b is the failover target and always answers.
const (
	aFirst    = `data: {"id":"a","choices":[{"index":0,"delta":{"content":"from a"},"finish_reason":null}]}` + "\n\n"
	aEnd      = `data: {"id":"a","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" + "data: [DONE]\n\n"
	aStream   = aFirst + aEnd
	bStream   = `data: {"id":"b","choices":[{"index":0,"delta":{"content":"from b"},"finish_reason":"stop"}]}` + "\n\n" + "data: [DONE]\n\n"
	bJSON     = `{"id":"b","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"from b"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`
	errFirst  = `data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}` + "\n\n"
	badPrompt = `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
)

func sse(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, s)
	w.(http.Flusher).Flush()
}

func status(code int, ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// breaks ends the upstream's response without its last chunk: a broken
// connection.
func breaks() { panic(http.ErrAbortHandler) }

// harness is a gateway (proxy.Serve in a real HTTP server) in front of
// two upstreams.
type harness struct {
	gw       *httptest.Server
	rec      *memrecorder.Memory
	breakers *breaker.Set
	bCalls   atomic.Int32
}

const keyA, keyB = 101, 201

// setup describes the two upstreams.
type setup struct {
	a http.HandlerFunc
	// aURL, when set, is a's base URL instead of a server running a.
	aURL string
	// b defaults to answering: bStream, or bJSON without "stream":true.
	b http.HandlerFunc
	// firstByte is a's first-byte timeout (zero: the proxy's 5 s).
	firstByte time.Duration
}

func answers(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(readAll(r.Body), `"stream":true`) {
		sse(w, bStream)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, bJSON)
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	h := &harness{rec: memrecorder.New()}
	aURL := s.aURL
	if aURL == "" {
		ua := httptest.NewServer(s.a)
		t.Cleanup(ua.Close)
		aURL = ua.URL
	}
	b := s.b
	if b == nil {
		b = answers
	}
	ub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.bCalls.Add(1)
		b(w, r)
	}))
	t.Cleanup(ub.Close)
	snap := catalog.Build(&store.ConfigSet{
		Providers: []store.Provider{{ID: 1, Name: "a", Priority: 1, Active: true}, {ID: 2, Name: "b", Priority: 2, Active: true}},
		Endpoints: []store.Endpoint{
			{ID: 10, ProviderID: 1, Format: llm.FormatOpenAI, BaseURL: aURL, Timeout: 5 * time.Second, FirstByteTimeout: s.firstByte, Active: true},
			{ID: 20, ProviderID: 2, Format: llm.FormatOpenAI, BaseURL: ub.URL, Timeout: 5 * time.Second, Active: true},
		},
		ProviderKeys: []store.ProviderKey{
			{ID: keyA, ProviderID: 1, Name: "a1", Secret: "sk-a", Priority: 1, Active: true},
			{ID: keyB, ProviderID: 2, Name: "b1", Secret: "sk-b", Priority: 1, Active: true},
		},
		Models:  []store.Model{{ID: 1, Name: "m", Active: true}},
		Routes:  []store.ModelRoute{{ModelID: 1, ProviderID: 1, UpstreamModel: "m-a", Active: true}, {ModelID: 1, ProviderID: 2, UpstreamModel: "m-b", Active: true}},
		Users:   []store.User{{ID: 1, Name: "u", Active: true}},
		APIKeys: []store.APIKey{{ID: 7, UserID: 1, Name: "k", Active: true, Hash: store.HashKey("key-7")}},
	})
	// One failure opens a breaker, so a key's state shows whether the
	// attempt counted against it.
	h.breakers = breaker.New(breaker.Config{MinRequests: 1, FailureRatio: 0.5, OpenFor: time.Minute}, nil)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	p := proxy.New(proxy.Config{FirstByteTimeout: 5 * time.Second}, func() *catalog.Snapshot { return snap }, h.breakers,
		routing.NewAffinity(time.Minute), transport, h.rec, nil, nil, slog.New(slog.DiscardHandler))
	h.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := snap.Authenticate("key-7", time.Now())
		if err != nil {
			t.Error(err)
			return
		}
		body := []byte(readAll(r.Body))
		stream := strings.Contains(string(body), `"stream":true`)
		p.Serve(w, r, &proxy.Inbound{
			RequestID: r.Header.Get("X-Request-ID"), Caller: caller, Dialect: openai.Dialect{}, Operation: llm.OpGenerate,
			Model: "m", Stream: stream,
			Body:   func(string) ([]byte, bool) { return body, false },
			Path:   func(string) string { return "/v1/chat/completions" },
			Header: r.Header, Received: time.Now(),
		})
	}))
	t.Cleanup(h.gw.Close)
	return h
}

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// response is what the client saw.
type response struct {
	status  int
	body    string
	aborted bool // the body ended with a broken connection
}

func (h *harness) call(t *testing.T, id string, stream bool) (response, memrecorder.Record) {
	t.Helper()
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	if stream {
		body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	}
	req, _ := http.NewRequest(http.MethodPost, h.gw.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("X-Request-ID", id)
	var got response
	resp, err := h.gw.Client().Do(req)
	if err != nil {
		// The connection broke before the response's head arrived.
		got.aborted = true
	} else {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = response{status: resp.StatusCode, body: string(b), aborted: err != nil}
	}
	rec, ok := h.rec.WaitFinished(id, 5*time.Second)
	if !ok {
		t.Fatal("the request was never recorded as finished")
	}
	return got, rec
}

// TestCommitPoint: nothing reaches the client before the upstream's status
// and (for a stream) its first event were checked, so every failure up to
// there fails over without a trace of the failed attempt; after it the
// answer belongs to that upstream, and a broken upstream aborts the
// client's connection rather than ending the response as if whole.
func TestCommitPoint(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	tests := []struct {
		name   string
		stream bool
		a      http.HandlerFunc
		// What the client sees.
		want response
		// partial: the client may see any prefix of want.body (status 0
		// when not even the head was flushed) before the connection breaks.
		partial bool
		// What is recorded.
		wantFailover bool
		wantStatus   llm.Status
		wantCode     int
		wantClass    llm.ErrorClass // of the request
		wantAClass   llm.ErrorClass // of the attempt on a
	}{
		{name: "stream answered", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, aStream) },
			want: response{status: 200, body: aStream}, wantStatus: llm.StatusCompleted, wantCode: 200},
		{name: "non-stream answered", a: status(200, "application/json", strings.ReplaceAll(bJSON, `"b"`, `"a"`)),
			want: response{status: 200, body: strings.ReplaceAll(bJSON, `"b"`, `"a"`)}, wantStatus: llm.StatusCompleted, wantCode: 200},

		// Before the commit point: a fails, b answers, the client sees b only.
		{name: "status checked before the first byte", stream: true, a: status(500, "application/json", `{"error":{"message":"boom"}}`),
			want: response{status: 200, body: bStream}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrUpstreamServer},
		{name: "error as the first event", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, errFirst) },
			want: response{status: 200, body: bStream}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrEmbedded},
		{name: "closed before the first event", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, ": keep-alive\n\n"); breaks() },
			want: response{status: 200, body: bStream}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrStreamCut},
		{name: "first event too slow", stream: true, a: slow,
			want: response{status: 200, body: bStream}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrFirstByte},
		{name: "html page instead of a stream", stream: true, a: status(200, "text/html", "<html><body>502 Bad Gateway</body></html>"),
			want: response{status: 200, body: bStream}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrHTMLPage},
		{name: "non-stream status checked", a: status(503, "application/json", `{"error":{"message":"overloaded"}}`),
			want: response{status: 200, body: bJSON}, wantFailover: true, wantStatus: llm.StatusCompleted, wantCode: 200, wantAClass: llm.ErrUpstreamServer},

		// After the commit point: a owns the answer, whatever happens.
		{name: "stream cut after the first event", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, aFirst); breaks() },
			want: response{status: 200, body: aFirst, aborted: true}, wantStatus: llm.StatusFailed, wantCode: 502, wantClass: llm.ErrStreamCut, wantAClass: llm.ErrStreamCut},
		{name: "stream closed without its final event", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, aFirst) },
			want: response{status: 200, body: aFirst, aborted: true}, wantStatus: llm.StatusFailed, wantCode: 502, wantClass: llm.ErrStreamTruncated, wantAClass: llm.ErrStreamTruncated},
		{name: "error event after the first event", stream: true, a: func(w http.ResponseWriter, _ *http.Request) { sse(w, aFirst+errFirst) },
			// The client has the upstream's own error event; the stream
			// ends normally.
			want: response{status: 200, body: aFirst + errFirst}, wantStatus: llm.StatusFailed, wantCode: 502, wantClass: llm.ErrUpstreamStreamError, wantAClass: llm.ErrUpstreamStreamError},
		{name: "non-stream body cut after the commit point", a: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			_, _ = io.WriteString(w, `{"id":"a","pad":"`+strings.Repeat("x", 1000))
			w.(http.Flusher).Flush()
			breaks()
		}, want: response{status: 200, body: `{"id":"a","pad":"` + strings.Repeat("x", 1000), aborted: true}, partial: true, wantStatus: llm.StatusFailed, wantCode: 502, wantClass: llm.ErrStreamCut, wantAClass: llm.ErrStreamCut},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{a: tt.a, firstByte: 300 * time.Millisecond})
			id := "req-commit-" + string(rune('a'+i))
			got, rec := h.call(t, id, tt.stream)
			if tt.partial && got.aborted && strings.HasPrefix(tt.want.body, got.body) && (got.status == 0 || got.status == tt.want.status) {
				got = tt.want
			}
			if got != tt.want {
				t.Errorf("client saw %+v\nwant %+v", got, tt.want)
			}
			if called := h.bCalls.Load() > 0; called != tt.wantFailover {
				t.Errorf("b called: %v, want %v", called, tt.wantFailover)
			}
			out := rec.Outcome
			if out.Status != tt.wantStatus || out.StatusCode != tt.wantCode || out.ErrorClass != tt.wantClass {
				t.Errorf("recorded %s %d %q, want %s %d %q", out.Status, out.StatusCode, out.ErrorClass, tt.wantStatus, tt.wantCode, tt.wantClass)
			}
			wantAttempts := 1
			if tt.wantFailover {
				wantAttempts = 2
			}
			if len(out.Attempts) != wantAttempts || out.Attempts[0].KeyID != keyA || out.Attempts[0].ErrorClass != tt.wantAClass {
				t.Fatalf("attempts %+v, want %d with a's class %q", out.Attempts, wantAttempts, tt.wantAClass)
			}
		})
	}
}

// TestFailoverVerdicts: which upstream answers move on to the next
// candidate, which are handed to the client, and which count against the
// provider key's breaker.
func TestFailoverVerdicts(t *testing.T) {
	const json = "application/json"
	tests := []struct {
		name        string
		a           http.HandlerFunc
		wantClass   llm.ErrorClass
		failsOver   bool
		countsOnKey bool
	}{
		{"500", status(500, json, `{"error":{"message":"internal"}}`), llm.ErrUpstreamServer, true, true},
		{"502", status(502, json, `{"error":{"message":"bad gateway"}}`), llm.ErrUpstreamServer, true, true},
		{"503", status(503, json, `{"error":{"message":"overloaded"}}`), llm.ErrUpstreamServer, true, true},
		{"408", status(408, json, `{"error":{"message":"timeout"}}`), llm.ErrUpstreamServer, true, true},
		{"429", status(429, json, `{"error":{"message":"rate limit","type":"rate_limit_exceeded"}}`), llm.ErrRateLimited, true, true},
		{"401 provider key", status(401, json, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`), llm.ErrUpstreamAuth, true, true},
		{"403 provider key", status(403, json, `{"error":{"message":"forbidden"}}`), llm.ErrUpstreamAuth, true, true},
		{"402 account", status(402, json, `{"error":{"message":"billing"}}`), llm.ErrUpstreamAccount, true, true},
		{"404 model unknown there", status(404, json, `{"error":{"message":"The model m-a does not exist","code":"model_not_found"}}`), llm.ErrUpstreamOther, true, true},
		// Matched on free text the client may have written: fails over,
		// never held against the key.
		{"400 unsupported here", status(400, json, `{"error":{"message":"Unsupported parameter: 'reasoning_effort' is not supported with this model.","type":"invalid_request_error"}}`), llm.ErrUpstreamUnsupported, true, false},
		{"html error page", status(502, "text/html", "<!DOCTYPE html><html>bad gateway</html>"), llm.ErrHTMLPage, true, true},
		{"connection refused", nil, llm.ErrConnect, true, true},
		// The request itself is at fault: every provider would refuse it.
		{"400 client error", status(400, json, badPrompt), llm.ErrClientRequest, false, false},
		{"413 too large", status(413, json, `{"error":{"message":"request too large"}}`), llm.ErrClientRequest, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{a: tt.a}
			if tt.a == nil {
				// a's address refuses connections.
				closed := httptest.NewServer(http.NotFoundHandler())
				closed.Close()
				s.aURL = closed.URL
			}
			h := newHarness(t, s)
			id := "req-verdict-" + string(rune('a'+i))
			got, rec := h.call(t, id, false)
			out := rec.Outcome
			if len(out.Attempts) == 0 || out.Attempts[0].ErrorClass != tt.wantClass {
				t.Fatalf("attempts %+v, want a's class %q", out.Attempts, tt.wantClass)
			}
			if tt.failsOver {
				if got.status != 200 || got.body != bJSON || len(out.Attempts) != 2 || out.Status != llm.StatusCompleted {
					t.Errorf("want failover to b: client %+v, recorded %s after %d attempts", got, out.Status, len(out.Attempts))
				}
			} else {
				if h.bCalls.Load() != 0 || len(out.Attempts) != 1 {
					t.Errorf("b was tried after a %q", tt.wantClass)
				}
				if got.status != 400 && got.status != 413 || got.body == bJSON || out.Status != llm.StatusFailed || out.ErrorClass != llm.ErrClientRequest {
					t.Errorf("want a's refusal handed to the client: client %+v, recorded %s %q", got, out.Status, out.ErrorClass)
				}
			}
			if open := h.breakers.State(keyA) == breaker.Open; open != tt.countsOnKey {
				t.Errorf("key a's breaker open: %v, want %v", open, tt.countsOnKey)
			}
			if h.breakers.State(keyB) == breaker.Open {
				t.Error("key b's breaker opened")
			}
		})
	}
}

// TestClientErrorRelayedUnchanged: a request the upstream refuses as the
// client's fault reaches the client with the upstream's own status and
// body, as if no gateway stood between them.
func TestClientErrorRelayedUnchanged(t *testing.T) {
	h := newHarness(t, setup{a: status(400, "application/json", badPrompt)})
	got, _ := h.call(t, "req-client-error", true)
	if got.status != 400 || got.body != badPrompt || got.aborted {
		t.Fatalf("client saw %+v, want a's 400 unchanged", got)
	}
}

// TestNothingAnswers: when every candidate fails, the client gets the
// gateway's own 503 in its API's error shape, never a provider's text.
func TestNothingAnswers(t *testing.T) {
	h := newHarness(t, setup{
		a: status(500, "application/json", `{"error":{"message":"provider a detail"}}`),
		b: status(503, "application/json", `{"error":{"message":"provider b detail"}}`),
	})
	got, rec := h.call(t, "req-nothing", true)
	if got.status != http.StatusServiceUnavailable || got.aborted || strings.Contains(got.body, "provider") || !strings.Contains(got.body, `"error"`) {
		t.Errorf("client saw %+v, want the gateway's own 503", got)
	}
	out := rec.Outcome
	if out.Status != llm.StatusFailed || out.StatusCode != 503 || out.ErrorClass != llm.ErrUpstreamServer || len(out.Attempts) != 2 {
		t.Errorf("recorded %s %d %q after %d attempts", out.Status, out.StatusCode, out.ErrorClass, len(out.Attempts))
	}
}
