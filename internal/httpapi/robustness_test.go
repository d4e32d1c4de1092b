package httpapi_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// TestFailoverOnConnectErrorAndHeaderTimeout: the first provider cannot be
// reached at all, the second sends no headers within its endpoint timeout;
// the third answers.
func TestFailoverOnConnectErrorAndHeaderTimeout(t *testing.T) {
	t.Parallel()
	yaml := `
providers:
  - name: dead
    priority: 1
    endpoints: [{format: openai, base_url: "http://127.0.0.1:1/v1"}]
    keys: [{name: k, secret: k-dead}]
  - name: slow
    priority: 2
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1", timeout: 1s}]
    keys: [{name: k, secret: k-slow}]
  - name: good
    priority: 3
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1"}]
    keys: [{name: k, secret: k-good}]
models:
  - name: gpt-4o-mini
    routes: [{provider: dead}, {provider: slow}, {provider: good}]
users:
  - name: tester
    keys: [{name: tester-key, key: "` + gatewaytest.Key + `"}]
`
	g := gatewaytest.New(t, gatewaytest.Options{YAML: yaml, Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-slow": {HeaderDelay: time.Hour}}}})
	resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, gatewaytest.Bearer())
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "wörld") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
	if len(out.Attempts) != 3 || out.Attempts[0].ErrorClass != llm.ErrConnect || out.Attempts[1].ErrorClass != llm.ErrTimeout || out.Attempts[2].Outcome != llm.OutcomeSuccess {
		t.Fatalf("attempts %+v", out.Attempts)
	}
}

// TestGzipUpstream: a provider that compresses its answers (stream and
// not) reaches the client as plain, complete bodies.
func TestGzipUpstream(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Gzip: true}}})
	for _, stream := range []string{"false", "true"} {
		resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"stream":`+stream+`,"messages":[]}`, map[string]string{"x-api-key": gatewaytest.Key})
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "w\u00f6rld") && !strings.Contains(string(body), `w\u00f6rld`) {
			t.Fatalf("stream=%s: %d %q", stream, resp.StatusCode, body)
		}
		out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
		if out.Usage.OutputTokens != 11 || out.Status != llm.StatusCompleted {
			t.Fatalf("stream=%s usage %+v status %s", stream, out.Usage, out.Status)
		}
	}
	if r := g.Fake.Requests(); len(r) == 0 || !strings.Contains(r[0].Header.Get("Accept-Encoding"), "gzip") {
		t.Fatal("upstream was not asked for gzip, so the test proves nothing")
	}
}

// TestRequestIDHeader: the request ID is always the gateway's own UUIDv7;
// a client's X-Request-ID, sent again or copied from an earlier answer,
// never becomes one, and a safe one is kept as the correlation ID.
func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	body := `{"model":"gpt-4o-mini","messages":[]}`
	seen := map[string]bool{}
	send := func(clientID, wantCorrelation string) string {
		t.Helper()
		h := gatewaytest.Bearer()
		h["X-Request-ID"] = clientID
		resp := g.Post(t, "/v1/chat/completions", body, h)
		id := resp.Header.Get("X-Request-ID")
		if u, err := uuid.Parse(id); err != nil || u.Version() != 7 || seen[id] || id == clientID {
			t.Fatalf("X-Request-ID %q for client ID %q: want a new UUIDv7", id, clientID)
		}
		seen[id] = true
		if got := resp.Header.Get("X-Correlation-ID"); got != wantCorrelation {
			t.Fatalf("X-Correlation-ID %q, want %q", got, wantCorrelation)
		}
		if got := g.Finished(t, id).Meta.CorrelationID; got != wantCorrelation {
			t.Fatalf("recorded correlation ID %q, want %q", got, wantCorrelation)
		}
		return id
	}
	send("client-trace-0001", "client-trace-0001")
	send("client-trace-0001", "client-trace-0001") // reused: a record of its own
	first := send("a", "a")
	send(first, first) // a gateway-made ID sent back: still a new request ID
	send("bad id with spaces and \"quotes\"", "")
	send(strings.Repeat("x", 129), "")
}

// failingRecorder cannot make a request durable, like a full disk.
type failingRecorder struct{}

func (failingRecorder) Start(llm.RequestMeta, []llm.Candidate, func(error)) (func() error, error) {
	return nil, errors.New("disk full")
}
func (failingRecorder) FirstByte(string, time.Time)  {}
func (failingRecorder) Finished(string, llm.Outcome) {}

func TestAccountingFailureMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"closed", "open"} {
		g := gatewaytest.New(t, gatewaytest.Options{Recorder: failingRecorder{}, Config: func(c *config.Config) { c.AccountingMode = mode }})
		resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}`, map[string]string{"x-api-key": gatewaytest.Key})
		body, _ := io.ReadAll(resp.Body)
		switch mode {
		case "closed":
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || g.Fake.Count() != 0 {
				t.Fatalf("closed: %d %s (upstream calls %d)", resp.StatusCode, body, g.Fake.Count())
			}
			errorShape(t, "anthropic", 503, body)
		case "open":
			if resp.StatusCode != 200 {
				t.Fatalf("open: %d %s", resp.StatusCode, body)
			}
		}
	}
}

// TestShutdownDrainsStreams: SIGTERM (here: stopping the server) lets a
// stream in flight finish before the process exits.
func TestShutdownDrainsStreams(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 20, ChunkInterval: 50 * time.Millisecond}}})
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("stream cut by shutdown: %v %q", err, rest)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after the stream ended")
	}
	if _, err := http.Get(g.URL + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}
