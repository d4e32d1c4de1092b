package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"aether/internal/testkit/gatewaytest"
)

// limitsYAML gives three users: one with a 2-per-minute key, one with a
// spent budget, and one whose provider key allows one request at a time.
const limitsYAML = `
users:
  - name: slow
    keys: [{name: slow-key, key: sk-slow-key-00000001, rpm_limit: 2}]
  - name: broke
    budget_usd: 0.01
    budget_period: monthly
    keys: [{name: broke-key, key: sk-broke-key-0000001}]
  - name: keybudget
    keys: [{name: kb-key, key: sk-keybudget-000001, budget_usd: 5}]
`

type formatCall struct {
	format, path, body string
	header             func(key string) map[string]string
}

var formatCalls = []formatCall{
	{"openai", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }},
	{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		func(k string) map[string]string {
			return map[string]string{"x-api-key": k, "anthropic-version": "2023-06-01"}
		}},
	{"gemini", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
		func(k string) map[string]string { return map[string]string{"x-goog-api-key": k} }},
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	for _, fc := range formatCalls {
		t.Run(fc.format, func(t *testing.T) {
			g := gatewaytest.New(t, gatewaytest.Options{YAML: gatewaytest.DefaultYAML + strings.TrimPrefix(limitsYAML, "\nusers:\n")})
			for i := range 2 {
				if resp := g.Post(t, fc.path, fc.body, fc.header("sk-slow-key-00000001")); resp.StatusCode != 200 {
					t.Fatalf("request %d within the limit: %d", i, resp.StatusCode)
				}
			}
			resp := g.Post(t, fc.path, fc.body, fc.header("sk-slow-key-00000001"))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 429 {
				t.Fatalf("third request in a minute: %d %s", resp.StatusCode, body)
			}
			ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || ra < 1 || ra > 60 {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			if msg := errorShape(t, fc.format, 429, body); !strings.Contains(msg, "Rate limit") {
				t.Fatalf("message %q", msg)
			}
			// Other callers are not affected.
			if resp := g.Post(t, fc.path, fc.body, fc.header(gatewaytest.Key)); resp.StatusCode != 200 {
				t.Fatalf("another key was limited: %d", resp.StatusCode)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: gatewaytest.DefaultYAML + strings.TrimPrefix(limitsYAML, "\nusers:\n")})
	ctx := context.Background()
	// The user "broke" has spent 0.02 of a 0.01 budget.
	if _, err := g.Server.Store.Pool.Exec(ctx, `UPDATE users SET spend_usd = 0.02 WHERE name = 'broke'`); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.Limits.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, fc := range formatCalls {
		resp := g.Post(t, fc.path, fc.body, fc.header("sk-broke-key-0000001"))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: over budget answered %d (retry-after %q) %s", fc.format, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if msg := errorShape(t, fc.format, 429, body); !strings.Contains(msg, "budget") {
			t.Fatalf("%s message %q", fc.format, msg)
		}
	}
	if n := g.Fake.Count(); n != 0 {
		t.Fatalf("refused requests reached the upstream %d times", n)
	}
	// A key budget: the first request is admitted; its cost (estimated
	// until recorded) counts against the key at once.
	if _, err := g.Server.Store.Pool.Exec(ctx, `UPDATE api_keys SET spend_usd = 4.9999 WHERE name = 'kb-key'`); err != nil {
		t.Fatal(err)
	}
	_ = g.Server.Limits.Refresh(ctx)
	// claude: 232.35 µ$ per request with the fake's default tokens, so one
	// request takes the key from $4.9999 past $5.
	fc := formatCalls[1]
	if resp := g.Post(t, fc.path, fc.body, fc.header("sk-keybudget-000001")); resp.StatusCode != 200 {
		t.Fatalf("request within budget: %d", resp.StatusCode)
	}
	resp := g.Post(t, fc.path, fc.body, fc.header("sk-keybudget-000001"))
	if resp.StatusCode != 429 {
		t.Fatalf("request after the budget ran out (not yet recorded): %d", resp.StatusCode)
	}
}

func TestProviderKeyConcurrency(t *testing.T) {
	t.Parallel()
	yaml := strings.ReplaceAll(gatewaytest.DefaultYAML, "{name: primary, secret: k-openai-primary, priority: 1}", "{name: primary, secret: k-openai-primary, priority: 1, max_concurrent: 1}")
	yaml = strings.ReplaceAll(yaml, "{name: backup, secret: k-openai-backup, priority: 2}", "{name: backup, secret: k-openai-backup, priority: 2, max_concurrent: 1}")
	g := gatewaytest.New(t, gatewaytest.Options{YAML: yaml})
	slow := map[string]string{"Authorization": "Bearer " + gatewaytest.Key, "X-Fake-Header-Delay": "1500ms"}
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	done := make(chan int, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
			for k, v := range slow {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	// Wait until both slow requests hold a key each (they reached the upstream).
	waitFor(t, func() bool { return g.Fake.Count() >= 2 })
	resp := g.Post(t, "/v1/chat/completions", body, gatewaytest.Bearer())
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third concurrent request: %d %s", resp.StatusCode, rb)
	}
	errorShape(t, "openai", 429, rb)
	for range 2 {
		if code := <-done; code != 200 {
			t.Fatalf("a request within the concurrency limit got %d", code)
		}
	}
	if resp := g.Post(t, "/v1/chat/completions", body, gatewaytest.Bearer()); resp.StatusCode != 200 {
		t.Fatalf("after the slots freed: %d", resp.StatusCode)
	}
}
