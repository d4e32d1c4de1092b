package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/testkit/gatewaytest"
)

// errorShape checks a body is the given API's error object and returns its
// message.
func errorShape(t *testing.T, format string, status int, body []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	e, _ := v["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object: %s", body)
	}
	switch format {
	case "openai":
		if _, ok := e["type"].(string); !ok || e["message"] == nil {
			t.Fatalf("not an OpenAI error: %s", body)
		}
		if _, ok := e["param"]; !ok {
			t.Fatalf("OpenAI error lacks param: %s", body)
		}
	case "anthropic":
		if v["type"] != "error" || e["type"] == nil || e["message"] == nil {
			t.Fatalf("not an Anthropic error: %s", body)
		}
	case "gemini":
		if code, _ := e["code"].(float64); int(code) != status || e["status"] == nil || e["message"] == nil {
			t.Fatalf("not a Gemini error for %d: %s", status, body)
		}
	}
	msg, _ := e["message"].(string)
	return msg
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{
		YAML: gatewaytest.DefaultYAML + `
  - name: restricted
    allowed_models: [gpt-4o-mini]
    keys:
      - {name: restricted-key, key: sk-restricted-key-0001}
      - {name: openai-only, key: sk-openai-only-0001, allowed_formats: [openai]}
      - {name: expired, key: sk-expired-key-00001, expires_at: 2020-01-01T00:00:00Z}
      - {name: disabled, key: sk-disabled-key-0001, active: false}
`,
		Config: func(c *config.Config) { c.MaxBodyBytes = 4096 },
	})
	oa := map[string]string{"Authorization": "Bearer " + gatewaytest.Key}
	an := map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}
	ge := map[string]string{"x-goog-api-key": gatewaytest.Key}
	chat := "/v1/chat/completions"
	msgs := "/v1/messages"
	gem := "/v1beta/models/gemini-2.5-flash:generateContent"
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`
	tests := []struct {
		name, format, path, body string
		header                   map[string]string
		status                   int
		msg                      string
	}{
		{"openai malformed JSON", "openai", chat, `{"model":`, oa, 400, "not a valid JSON"},
		{"openai array body", "openai", chat, `[1,2]`, oa, 400, "not a valid JSON"},
		{"openai missing model", "openai", chat, `{"messages":[]}`, oa, 400, "model"},
		{"openai unknown model", "openai", chat, `{"model":"gpt-9","messages":[]}`, oa, 404, "gpt-9"},
		{"openai too large", "openai", chat, big, oa, 413, "larger"},
		{"openai no key", "openai", chat, `{"model":"gpt-4o-mini"}`, nil, 401, "Missing API key"},
		{"openai wrong key", "openai", chat, `{"model":"gpt-4o-mini"}`, map[string]string{"Authorization": "Bearer sk-wrong-key-000000"}, 401, "Invalid API key"},
		{"openai expired key", "openai", chat, `{"model":"gpt-4o-mini"}`, map[string]string{"Authorization": "Bearer sk-expired-key-00001"}, 401, "Invalid API key"},
		{"openai disabled key", "openai", chat, `{"model":"gpt-4o-mini"}`, map[string]string{"Authorization": "Bearer sk-disabled-key-0001"}, 401, "Invalid API key"},
		{"openai model not allowed for user", "openai", "/v1/responses", `{"model":"gpt-4o-mini-x"}`, map[string]string{"Authorization": "Bearer sk-restricted-key-0001"}, 404, "gpt-4o-mini-x"},
		{"anthropic malformed JSON", "anthropic", msgs, `{nope`, an, 400, "not a valid JSON"},
		{"anthropic missing model", "anthropic", msgs, `{"max_tokens":1}`, an, 400, "model"},
		{"anthropic unknown model", "anthropic", msgs, `{"model":"claude-9"}`, an, 404, "claude-9"},
		{"anthropic wrong key", "anthropic", msgs, `{"model":"claude-sonnet-4-5"}`, map[string]string{"x-api-key": "sk-nope-nope-nope"}, 401, "Invalid API key"},
		{"anthropic model not allowed", "anthropic", msgs, `{"model":"claude-sonnet-4-5"}`, map[string]string{"x-api-key": "sk-restricted-key-0001"}, 403, "may not use"},
		{"anthropic format not allowed", "anthropic", msgs, `{"model":"claude-sonnet-4-5"}`, map[string]string{"x-api-key": "sk-openai-only-0001"}, 403, "may not use"},
		{"gemini malformed JSON", "gemini", gem, `{"contents":`, ge, 400, "not a valid JSON"},
		{"gemini unknown model", "gemini", "/v1beta/models/gemini-9:generateContent", `{}`, ge, 404, "gemini-9"},
		{"gemini unknown method", "gemini", "/v1beta/models/gemini-2.5-flash:embedContent", `{}`, ge, 404, "Unknown method"},
		{"gemini wrong key in query", "gemini", gem + "?key=sk-bad-bad-bad", `{}`, nil, 401, "Invalid API key"},
		{"gemini no key", "gemini", gem, `{}`, nil, 401, "Missing API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.Post(t, tt.path, tt.body, tt.header)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if msg := errorShape(t, tt.format, tt.status, body); !strings.Contains(msg, tt.msg) {
				t.Fatalf("message %q does not mention %q", msg, tt.msg)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Error("error response without X-Request-ID")
			}
		})
	}
	if n := g.Fake.Count(); n != 0 {
		t.Fatalf("bad requests reached the upstream %d times", n)
	}
	if n := len(g.Recorder.IDs()); n != 0 {
		t.Fatalf("bad requests were recorded as usage: %d", n)
	}
}

// TestNoCandidate: every key of the model is unusable, so the gateway
// answers 503 with Retry-After in the client's format.
func TestNoCandidate(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: strings.ReplaceAll(gatewaytest.DefaultYAML,
		"{name: primary, secret: k-anthropic-primary, priority: 1}", "{name: primary, secret: k-anthropic-primary, priority: 1, active: false}")})
	// Disable the backup too, through the database, as an operator would.
	if _, err := g.Server.Store.Pool.Exec(context.Background(), `UPDATE provider_keys SET active = false WHERE name = 'backup' AND provider_id = (SELECT id FROM providers WHERE name = 'p-anthropic')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1}`, map[string]string{"x-api-key": gatewaytest.Key})
		return resp.StatusCode == 503
	})
	resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1}`, map[string]string{"x-api-key": gatewaytest.Key})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	errorShape(t, "anthropic", 503, body)
	rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
	if rec.Outcome.Status != "failed" || rec.Outcome.ErrorClass != "no_candidate" || len(rec.Plan) != 2 || rec.Plan[0].SkippedReason != "key_inactive" {
		t.Fatalf("record %+v plan %+v", rec.Outcome, rec.Plan)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRevokedKeyStopsWithinSeconds revokes a gateway key in Postgres; the
// running API refuses it within 5 seconds without a restart.
func TestRevokedKeyStopsWithinSeconds(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Config: func(c *config.Config) { c.SnapshotRefresh = time.Second }})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if resp := g.Post(t, "/v1/chat/completions", body, gatewaytest.Bearer()); resp.StatusCode != 200 {
		t.Fatalf("status %d before revocation", resp.StatusCode)
	}
	if _, err := g.Server.Store.Pool.Exec(context.Background(), `UPDATE api_keys SET active = false`); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for g.Post(t, "/v1/chat/completions", body, gatewaytest.Bearer()).StatusCode != 401 {
		if time.Since(revoked) > 5*time.Second {
			t.Fatal("revoked key still accepted after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPassthrough checks what reaches the upstream: unknown body fields
// byte for byte with only model rewritten, the query string without the
// gateway key, client headers minus credentials and hop-by-hop ones.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	body := `{"model":"claude-sonnet-4-5","max_tokens":8,"thinking":{"type":"adaptive"},"output_config":{"x":1},` +
		`"context_management":{"edits":[]},"metadata":{"user_id":"u-1"},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}]}`
	resp := g.Post(t, "/v1/messages?beta=true", body, map[string]string{
		"Authorization": "Bearer " + gatewaytest.Key, "anthropic-version": "2023-06-01",
		"anthropic-beta": "claude-code-20250219,context-1m-2025-08-07", "x-app": "cli", "User-Agent": "claude-cli/2.0",
		"X-Stainless-Lang": "js", "Cookie": "session=secret",
	})
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	r := g.Fake.Requests()[0]
	wantBody := strings.Replace(body, `"model":"claude-sonnet-4-5"`, `"model":"claude-sonnet-4-5-20250929"`, 1)
	if string(r.Body) != wantBody {
		t.Errorf("upstream body\n got %s\nwant %s", r.Body, wantBody)
	}
	if r.RawQuery != "beta=true" {
		t.Errorf("query %q", r.RawQuery)
	}
	for k, v := range map[string]string{"Anthropic-Version": "2023-06-01", "Anthropic-Beta": "claude-code-20250219,context-1m-2025-08-07",
		"X-App": "cli", "User-Agent": "claude-cli/2.0", "X-Stainless-Lang": "js", "X-Api-Key": "k-anthropic-primary"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("upstream header %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"Authorization", "Cookie"} {
		if got := r.Header.Get(k); got != "" {
			t.Errorf("upstream received %s: %q", k, got)
		}
	}
	for _, v := range r.Header {
		for _, s := range v {
			if strings.Contains(s, gatewaytest.Key) {
				t.Fatalf("gateway key forwarded upstream: %v", r.Header)
			}
		}
	}

	// Gemini: key in the query string is used and never forwarded.
	resp = g.Post(t, "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key="+gatewaytest.Key, `{"contents":[],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("gemini status %d", resp.StatusCode)
	}
	_, _ = io.ReadAll(resp.Body)
	last := g.Fake.Requests()[len(g.Fake.Requests())-1]
	if last.RawQuery != "alt=sse" || last.Path != "/v1/models/gemini-2.5-flash:streamGenerateContent" || !strings.Contains(string(last.Body), "thinkingBudget") {
		t.Errorf("gemini upstream %s?%s body %s", last.Path, last.RawQuery, last.Body)
	}
}

func TestUnauthenticatedRoutes(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	req, _ := http.NewRequest(http.MethodHead, g.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD / = %v %v", resp, err)
	}
	resp, err = http.Get(g.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %v %v", resp, err)
	}
}

func TestModelLists(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	get := func(path string, h map[string]string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return decode(t, resp.Body)
	}
	// Every model is listed in every format: those of another format are
	// served by translation (issue 12).
	if v := get("/v1/models", gatewaytest.Bearer()); v["object"] != "list" || len(v["data"].([]any)) != 3 {
		t.Errorf("OpenAI list %v", v)
	}
	if v := get("/v1/models", map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}); v["first_id"] != "claude-sonnet-4-5" {
		t.Errorf("Anthropic list %v", v)
	}
	if v := get("/v1beta/models", map[string]string{"x-goog-api-key": gatewaytest.Key}); len(v["models"].([]any)) != 3 {
		t.Errorf("Gemini list %v", v)
	}
	if v := get("/v1/models/gpt-4o-mini", gatewaytest.Bearer()); v["id"] != "gpt-4o-mini" {
		t.Errorf("OpenAI model %v", v)
	}
}
