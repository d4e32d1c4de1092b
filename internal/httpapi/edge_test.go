package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// rawExchange sends a request head over a fresh TCP connection, then (when
// trickle is set) one byte of body every interval, and reads the answer.
// It returns the response, or nil when the server closed the connection
// without one, and how long that took. It fails the test when nothing
// happened within wait.
func rawExchange(t *testing.T, g *gatewaytest.Gateway, head string, trickle time.Duration, wait time.Duration) (*http.Response, []byte, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if trickle > 0 {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(trickle):
				}
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
	}
	_ = conn.SetReadDeadline(start.Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	elapsed := time.Since(start)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no answer and no close within %s", wait)
		}
		return nil, nil, elapsed // closed without an answer
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body, elapsed
}

func head(path string, contentLength int64, headers ...string) string {
	h := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, contentLength)
	for _, x := range headers {
		h += x + "\r\n"
	}
	return h + "\r\n"
}

// TestStalledBodyTimesOut (issue 8, items 9 and 19): a client that sends
// its headers and then nothing, or trickles its body a byte at a time, is
// answered (408 in its API's shape where the route is known) or cut off
// within the body read deadline, instead of holding the connection for
// ever. A long stream that outlasts the deadline is not affected.
func TestStalledBodyTimesOut(t *testing.T) {
	t.Parallel()
	const deadline = 400 * time.Millisecond
	g := gatewaytest.New(t, gatewaytest.Options{
		Config: func(c *config.Config) { c.BodyReadTimeout = deadline },
		Fake:   fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 20, ChunkInterval: 60 * time.Millisecond}},
	})
	tests := []struct {
		name, path, auth string
		trickle          time.Duration
		format           string
		status           int
	}{
		{"nothing after headers", "/v1/chat/completions", "Authorization: Bearer " + gatewaytest.Key, 0, "openai", 408},
		{"one byte every 100ms", "/v1/messages", "X-Api-Key: " + gatewaytest.Key, 100 * time.Millisecond, "anthropic", 408},
		{"gemini, one byte every 100ms", "/v1beta/models/gemini-2.5-flash:generateContent", "X-Goog-Api-Key: " + gatewaytest.Key, 100 * time.Millisecond, "gemini", 408},
		{"unauthenticated, nothing after headers", "/v1/chat/completions", "X-Nothing: 1", 0, "openai", 401},
		{"unknown path, one byte every 100ms", "/v1/nowhere", "X-Nothing: 1", 100 * time.Millisecond, "openai", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, took := rawExchange(t, g, head(tt.path, 100, tt.auth), tt.trickle, 5*time.Second)
			if took > deadline+2*time.Second {
				t.Errorf("took %s with a body deadline of %s", took, deadline)
			}
			if resp == nil {
				return // closed within the deadline: acceptable
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			errorShape(t, tt.format, tt.status, body)
			if !resp.Close {
				t.Error("connection kept open after an unread body")
			}
		})
	}
	t.Run("long stream outlasts the deadline", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`, gatewaytest.Bearer())
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "[DONE]") {
			t.Fatalf("stream: %d %v %q", resp.StatusCode, err, body)
		}
		if took := time.Since(start); took < 3*deadline {
			t.Fatalf("stream took %s: too short to outlast the deadline", took)
		}
		if out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome; out.Status != llm.StatusCompleted {
			t.Fatalf("recorded %s", out.Status)
		}
	})
}

// TestGatewayKeyInQueryNeverForwarded (issue 8, item 10): a gateway key in
// the query authenticates under any percent-encoding of its name, and is
// never forwarded to the provider in any encoding.
func TestGatewayKeyInQueryNeverForwarded(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	for _, name := range []string{"key", "%6Bey", "%6b%65%79", "k%65y"} {
		resp := g.Post(t, "/v1beta/models/gemini-2.5-flash:generateContent?alt=sse&"+name+"="+url.QueryEscape(gatewaytest.Key)+"&x=1", `{"contents":[]}`, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", name, resp.StatusCode, body)
		}
		reqs := g.Fake.Requests()
		last := reqs[len(reqs)-1]
		decoded, _ := url.QueryUnescape(last.RawQuery)
		if strings.Contains(last.RawQuery, gatewaytest.Key) || strings.Contains(decoded, gatewaytest.Key) || last.RawQuery != "alt=sse&x=1" {
			t.Fatalf("%s: upstream query %q", name, last.RawQuery)
		}
	}
}

const restrictedYAML = `
providers:
  - name: p-openai
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1"}]
    keys: [{name: k, secret: k-openai}]
  - name: p-multi
    endpoints:
      - {format: openai, base_url: "${FAKE_URL}/v1"}
      - {format: anthropic, base_url: "${FAKE_URL}"}
      - {format: gemini, base_url: "${FAKE_URL}"}
    keys: [{name: k, secret: k-multi}]
models:
  - name: m-a
    routes: [{provider: p-openai}]
  - name: m-b
    routes: [{provider: p-multi}]
  - name: m-c
    routes: [{provider: p-multi}]
users:
  - name: open
    keys:
      - {name: all, key: sk-models-all-00001}
      - {name: models, key: sk-models-only-b-01, allowed_models: [m-b]}
      - {name: providers, key: sk-models-prov-0001, allowed_providers: [p-openai]}
      - {name: formats, key: sk-models-anth-0001, allowed_formats: [anthropic]}
  - name: narrow
    allowed_models: [m-c]
    keys: [{name: n, key: sk-models-user-0001}]
`

// TestModelListsFollowPermissions (issue 8, item 13): every model list
// and single-model GET shows exactly the models the key could use through
// that API, by the key's and the user's allowed models, providers and
// formats. A model whose providers speak another format is listed too:
// it is served by translation (issue 12).
func TestModelListsFollowPermissions(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: restrictedYAML})
	get := func(path string, h map[string]string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, decode(t, resp.Body)
	}
	names := func(v map[string]any, list, field string) []string {
		out := []string{}
		for _, m := range v[list].([]any) {
			out = append(out, strings.TrimPrefix(m.(map[string]any)[field].(string), "models/"))
		}
		return out
	}
	lists := func(key string) (openai, anthropic, gemini []string) {
		_, o := get("/v1/models", map[string]string{"Authorization": "Bearer " + key})
		_, a := get("/v1/models", map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01"})
		_, gm := get("/v1beta/models", map[string]string{"x-goog-api-key": key})
		return names(o, "data", "id"), names(a, "data", "id"), names(gm, "models", "name")
	}
	tests := []struct {
		key                       string
		openai, anthropic, gemini []string
	}{
		{"sk-models-all-00001", []string{"m-a", "m-b", "m-c"}, []string{"m-a", "m-b", "m-c"}, []string{"m-a", "m-b", "m-c"}},
		{"sk-models-only-b-01", []string{"m-b"}, []string{"m-b"}, []string{"m-b"}},
		{"sk-models-prov-0001", []string{"m-a"}, []string{"m-a"}, []string{"m-a"}},
		{"sk-models-anth-0001", []string{}, []string{"m-a", "m-b", "m-c"}, []string{}},
		{"sk-models-user-0001", []string{"m-c"}, []string{"m-c"}, []string{"m-c"}},
	}
	for _, tt := range tests {
		o, a, gm := lists(tt.key)
		if !slices.Equal(o, tt.openai) || !slices.Equal(a, tt.anthropic) || !slices.Equal(gm, tt.gemini) {
			t.Errorf("%s: openai %v anthropic %v gemini %v; want %v %v %v", tt.key, o, a, gm, tt.openai, tt.anthropic, tt.gemini)
		}
	}
	for _, c := range []struct {
		path   string
		header map[string]string
		status int
	}{
		{"/v1/models/m-a", map[string]string{"Authorization": "Bearer sk-models-prov-0001"}, 200},
		{"/v1/models/m-b", map[string]string{"Authorization": "Bearer sk-models-prov-0001"}, 404},
		{"/v1/models/m-a", map[string]string{"Authorization": "Bearer sk-models-anth-0001"}, 404},
		{"/v1/models/m-b", map[string]string{"x-api-key": "sk-models-anth-0001", "anthropic-version": "2023-06-01"}, 200},
		{"/v1beta/models/m-b", map[string]string{"x-goog-api-key": "sk-models-all-00001"}, 200},
		{"/v1beta/models/m-b", map[string]string{"x-goog-api-key": "sk-models-user-0001"}, 404},
		{"/v1beta/models/m-a", map[string]string{"x-goog-api-key": "sk-models-all-00001"}, 200},
		{"/v1beta/models/m-a", map[string]string{"x-goog-api-key": "sk-models-anth-0001"}, 404},
	} {
		if status, v := get(c.path, c.header); status != c.status {
			t.Errorf("GET %s with %v: %d, want %d: %v", c.path, c.header, status, c.status, v)
		}
	}
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// accessLines returns the "request" log lines by request ID.
func (s *syncBuffer) accessLines(t *testing.T) map[string][]map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(s.b.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if v["msg"] == "request" {
			id, _ := v["request_id"].(string)
			out[id] = append(out[id], v)
		}
	}
	return out
}

func metricsText(t *testing.T, g *gatewaytest.Gateway) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestEveryResponseLoggedAndCounted (issue 8, item 18): refusals (bad
// JSON, no model, no key, unknown model, forbidden, too large, unknown
// path, journal unavailable, admin API off) each get one access line with
// the request ID, status and reason, and are counted by reason; a served
// request still gets exactly one line, the proxy's.
func TestEveryResponseLoggedAndCounted(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g := gatewaytest.New(t, gatewaytest.Options{
		Log: log, Recorder: failingRecorder{},
		YAML: gatewaytest.DefaultYAML + `
  - name: restricted
    allowed_models: [gpt-4o-mini]
    keys: [{name: restricted-key, key: sk-restricted-key-0001}]
`,
		Config: func(c *config.Config) { c.MaxBodyBytes = 4096; c.AccountingMode = "closed" },
	})
	oa := gatewaytest.Bearer()
	an := map[string]string{"x-api-key": gatewaytest.Key}
	tests := []struct {
		name, path, body string
		header           map[string]string
		format           string
		status           int
		reason           string
	}{
		{"bad json", "/v1/chat/completions", `{"model":`, oa, "openai", 400, "bad_json"},
		{"missing model", "/v1/messages", `{"max_tokens":1}`, an, "anthropic", 400, "missing_model"},
		{"no key", "/v1/chat/completions", `{"model":"gpt-4o-mini"}`, nil, "openai", 401, "auth"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-9"}`, oa, "openai", 404, "unknown_model"},
		{"forbidden", "/v1/messages", `{"model":"claude-sonnet-4-5"}`, map[string]string{"x-api-key": "sk-restricted-key-0001"}, "anthropic", 403, "forbidden"},
		{"too large", "/v1/chat/completions", `{"model":"gpt-4o-mini","x":"` + strings.Repeat("x", 5000) + `"}`, oa, "openai", 413, "too_large"},
		{"unknown path", "/v1/nowhere", `{}`, oa, "other", 404, "not_found"},
		{"journal unavailable", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1}`, an, "anthropic", 503, "journal_unavailable"},
		{"admin API off", "/admin/v1/providers", `{}`, oa, "admin", 403, "disabled"},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		resp := g.Post(t, tt.path, tt.body, tt.header)
		_, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		ids[tt.name] = resp.Header.Get("X-Request-ID")
	}
	text := metricsText(t, g)
	lines := logs.accessLines(t)
	for _, tt := range tests {
		got := lines[ids[tt.name]]
		if len(got) != 1 {
			t.Errorf("%s: %d access lines for %s, want 1: %v", tt.name, len(got), ids[tt.name], got)
			continue
		}
		if got[0]["status_code"] != float64(tt.status) || got[0]["reason"] != tt.reason {
			t.Errorf("%s: access line %v, want status %d reason %s", tt.name, got[0], tt.status, tt.reason)
		}
		want := fmt.Sprintf(`aether_responses_total{format=%q,reason=%q,status_class="%dxx"} 1`, tt.format, tt.reason, tt.status/100)
		if !strings.Contains(text, want) {
			t.Errorf("%s: /metrics lacks %s", tt.name, want)
		}
	}

	// A served request: one line, the proxy's own (with the model).
	var logs2 syncBuffer
	g2 := gatewaytest.New(t, gatewaytest.Options{Log: slog.New(slog.NewJSONHandler(&logs2, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	resp := g2.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, oa)
	_, _ = io.ReadAll(resp.Body)
	id := resp.Header.Get("X-Request-ID")
	g2.Finished(t, id)
	if got := logs2.accessLines(t)[id]; len(got) != 1 || got[0]["model"] != "gpt-4o-mini" {
		t.Fatalf("served request: access lines %v", got)
	}
	if want := `aether_responses_total{format="openai",reason="ok",status_class="2xx"} 1`; !strings.Contains(metricsText(t, g2), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}

// TestOverLimitBodyRefusedUnread (issue 8, item 20): a Content-Length over
// the limit is answered 413 at once, without waiting for (or buffering)
// the body, and the connection is closed.
func TestOverLimitBodyRefusedUnread(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	resp, body, _ := rawExchange(t, g, head("/v1/chat/completions", 1<<30, "Authorization: Bearer "+gatewaytest.Key), 0, 5*time.Second)
	if resp == nil || resp.StatusCode != 413 || !resp.Close {
		t.Fatalf("response %v", resp)
	}
	errorShape(t, "openai", 413, body)
}

// TestInflightBodyCap (issue 8, item 20): while the bodies held in memory
// reach AETHER_MAX_INFLIGHT_BODY_BYTES, a new request is refused at once
// with 503 and Retry-After in its API's shape; once they are gone,
// requests are served again.
func TestInflightBodyCap(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Config: func(c *config.Config) {
		c.MaxBodyBytes, c.MaxInflightBody, c.BodyReadTimeout = 4096, 8192, time.Minute
	}})
	// Two clients announce 3,000-byte bodies and stall: 2 × (3000 + room)
	// bytes are reserved for them.
	var stalled []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, head("/v1/messages", 3000, "X-Api-Key: "+gatewaytest.Key)+`{"model":`)
		stalled = append(stalled, conn)
	}
	waitFor(t, func() bool {
		return strings.Contains(metricsText(t, g), "aether_request_body_bytes_in_flight 7024")
	})
	resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[]}`+strings.Repeat(" ", 2000), map[string]string{"x-api-key": gatewaytest.Key})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d %s", resp.StatusCode, body)
	}
	errorShape(t, "anthropic", 503, body)
	for _, c := range stalled {
		c.Close()
	}
	waitFor(t, func() bool {
		return strings.Contains(metricsText(t, g), "aether_request_body_bytes_in_flight 0")
	})
	if resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[]}`, map[string]string{"x-api-key": gatewaytest.Key}); resp.StatusCode != 200 {
		t.Fatalf("after the stalled clients left: %d", resp.StatusCode)
	}
}

// TestUnknownModelNameTruncated (issue 8, item 22): a huge model name is
// not echoed back in full.
func TestUnknownModelNameTruncated(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	long := strings.Repeat("m", 1<<20)
	resp := g.Post(t, "/v1/chat/completions", `{"model":"`+long+`","messages":[]}`, gatewaytest.Bearer())
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || len(body) > 1024 {
		t.Fatalf("status %d, %d-byte body", resp.StatusCode, len(body))
	}
	errorShape(t, "openai", 404, body)
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/v1/models/"+long[:16<<10], nil)
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || len(body) > 1024 {
		t.Fatalf("GET: status %d, %d-byte body", resp.StatusCode, len(body))
	}
}

// TestGeminiModelPathDecoding (issue 8, item 22): a model segment is
// percent-decoded the same way whatever it contains (%2F included), and a
// control character is refused with 400 in Gemini's shape.
func TestGeminiModelPathDecoding(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: strings.Replace(gatewaytest.DefaultYAML, "models:\n", `models:
  - name: google/gemini-flash
    routes: [{provider: p-gemini, upstream_model: gemini-2.5-flash}]
`, 1)})
	ge := map[string]string{"x-goog-api-key": gatewaytest.Key}
	for _, path := range []string{"/v1beta/models/google%2Fgemini-flash:generateContent", "/v1beta/models/google%2fgemini%2Dflash%3AgenerateContent", "/v1/models/google%2Fgemini-flash:generateContent"} {
		resp := g.Post(t, path, `{"contents":[]}`, ge)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	if r := g.Fake.Requests(); len(r) == 0 || r[len(r)-1].Path != "/v1/models/gemini-2.5-flash:generateContent" {
		t.Errorf("upstream requests %+v", r)
	}
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/v1beta/models/google%2Fgemini-flash", nil)
	req.Header.Set("x-goog-api-key", gatewaytest.Key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET model with %%2F: %v %v", resp, err)
	}
	for _, path := range []string{"/v1beta/models/gemini%00-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash%0A:generateContent", "/v1beta/models/google%2Fgemini%00:generateContent"} {
		resp := g.Post(t, path, `{"contents":[]}`, ge)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
			continue
		}
		errorShape(t, "gemini", 400, body)
	}
}

// TestChunkedBody: a body without a Content-Length is read in growing
// steps and forwarded byte for byte (model renamed in place); one over the
// limit is refused with 413.
func TestChunkedBody(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Config: func(c *config.Config) { c.MaxBodyBytes = 200 << 10 }, Fake: fakeupstream.Config{RecordBodyLimit: 1 << 20}})
	send := func(body string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", io.MultiReader(strings.NewReader(body)))
		req.Header.Set("x-api-key", gatewaytest.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if req.ContentLength != -1 && req.ContentLength != 0 {
			t.Fatalf("request was not chunked: %d", req.ContentLength)
		}
		return resp, b
	}
	text := strings.Repeat("a", 150<<10)
	body := `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"` + text + `"}]}`
	resp, b := send(body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	want := strings.Replace(body, `"claude-sonnet-4-5"`, `"claude-sonnet-4-5-20250929"`, 1)
	if got := g.Fake.Requests()[0].Body; string(got) != want {
		t.Fatalf("upstream got %d bytes, want %d", len(got), len(want))
	}
	resp, b = send(`{"model":"claude-sonnet-4-5","x":"` + strings.Repeat("a", 250<<10) + `"}`)
	if resp.StatusCode != 413 {
		t.Fatalf("over the limit: %d %s", resp.StatusCode, b)
	}
	errorShape(t, "anthropic", 413, b)
}
