package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/testenv"
)

const adminToken = "admin-token-for-tests-0001-9f3c2a7e5b1d"

type adminClient struct {
	t   *testing.T
	url string
	tok string
}

func (a adminClient) do(method, path string, body any) (int, map[string]any, string) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.url+"/admin/v1"+path, rd)
	if a.tok != "" {
		req.Header.Set("Authorization", "Bearer "+a.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return resp.StatusCode, v, string(raw)
}

// fields returns the names of the invalid fields in an admin error body.
func fields(v map[string]any) []string {
	e, _ := v["error"].(map[string]any)
	var out []string
	for _, f := range e["fields"].([]any) {
		out = append(out, f.(map[string]any)["field"].(string))
	}
	return out
}

func newAdmin(t *testing.T) (*gatewaytest.Gateway, adminClient) {
	g := gatewaytest.New(t, gatewaytest.Options{AdminToken: adminToken})
	return g, adminClient{t: t, url: g.URL, tok: adminToken}
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	for _, tok := range []string{"", "wrong-token"} {
		c := adminClient{t: t, url: g.URL, tok: tok}
		if code, v, _ := c.do("GET", "/providers", nil); code != 401 || v["error"] == nil {
			t.Errorf("token %q: %d %v", tok, code, v)
		}
	}
	if code, _, _ := a.do("GET", "/providers", nil); code != 200 {
		t.Fatalf("valid token: %d", code)
	}
	off := gatewaytest.New(t, gatewaytest.Options{})
	if code, _, body := (adminClient{t: t, url: off.URL, tok: "anything"}).do("GET", "/providers", nil); code != 403 || !strings.Contains(body, "AETHER_ADMIN_TOKEN") {
		t.Fatalf("admin API without a token configured: %d %s", code, body)
	}
}

func TestAdminProviderRoundTrip(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	const secret = "sk-new-provider-SECRET-0123456789"
	code, v, body := a.do("POST", "/providers", map[string]any{
		"name": "p-new", "priority": 5,
		"endpoints": []any{map[string]any{"format": "openai", "base_url": g.FakeURL + "/v1", "timeout": "60s"}},
		"keys":      []any{map[string]any{"name": "k1", "secret": secret, "rate_multiplier": "0.5", "max_concurrent": 3}},
	})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if strings.Contains(body, secret) || strings.Contains(body, "SECRET") {
		t.Fatalf("a provider secret came back: %s", body)
	}
	keys := v["keys"].([]any)
	k := keys[0].(map[string]any)
	if k["secret_preview"] != "sk-n…6789" || k["rate_multiplier"].(float64) != 0.5 || k["id"] == nil {
		t.Fatalf("key view %v", k)
	}
	if code, _, _ := a.do("POST", "/providers", map[string]any{"name": "p-new"}); code != 409 {
		t.Fatalf("duplicate create: %d", code)
	}
	// Change the priority only: endpoints and keys stay, the secret too.
	if code, v, body = a.do("PUT", "/providers/p-new", map[string]any{"priority": 7}); code != 200 || v["priority"].(float64) != 7 || len(v["keys"].([]any)) != 1 {
		t.Fatalf("put: %d %s", code, body)
	}
	// A key's settings change without its secret; a new key needs one.
	if code, v, body = a.do("PUT", "/providers/p-new/keys/k1", map[string]any{"priority": 3, "active": false}); code != 200 {
		t.Fatalf("put key settings: %d %s", code, body)
	}
	if k := v["keys"].([]any)[0].(map[string]any); k["priority"].(float64) != 3 || k["active"] != false || k["secret_preview"] != "sk-n…6789" {
		t.Fatalf("key after settings update: %v", k)
	}
	if code, v, _ = a.do("PUT", "/providers/p-new/keys/k2", map[string]any{"priority": 1}); code != 400 || fields(v)[0] != "secret" {
		t.Fatalf("new key without secret: %d %v", code, v)
	}
	var sealed string
	if err := g.Server.Store.Pool.QueryRow(context.Background(), `SELECT secret_sealed FROM provider_keys WHERE name = 'k1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Server.Store.Box.Open(sealed, "aether/provider_key"); got != secret {
		t.Fatalf("secret changed by a settings update: %q", got)
	}
	if code, _, _ := a.do("DELETE", "/providers/p-new/keys/k1", nil); code != 204 {
		t.Fatalf("delete key: %d", code)
	}
	if code, _, _ := a.do("DELETE", "/providers/p-new", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := a.do("GET", "/providers/p-new", nil); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
	if code, _, _ := a.do("DELETE", "/providers/p-new", nil); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
}

func TestAdminBadInput(t *testing.T) {
	t.Parallel()
	_, a := newAdmin(t)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"unknown field", "POST", "/providers", `{"name":"x","prioritty":1}`, 400, "prioritty"},
		{"not JSON", "POST", "/providers", `{"name":`, 400, ""},
		{"wrong type", "POST", "/providers", `{"name":"x","priority":"high"}`, 400, "priority"},
		{"missing name", "POST", "/providers", `{"priority":1}`, 400, "name"},
		{"bad format", "POST", "/providers", `{"name":"x","endpoints":[{"format":"soap","base_url":"http://a"}]}`, 400, "endpoints[0].format"},
		{"relative base url", "POST", "/providers", `{"name":"x","endpoints":[{"format":"openai","base_url":"/v1"}]}`, 400, "endpoints[0].base_url"},
		{"name differs from URL", "PUT", "/providers/a", `{"name":"b"}`, 400, "name"},
		{"route to unknown provider", "POST", "/models", `{"name":"m-x","routes":[{"provider":"ghost"}]}`, 400, "provider"},
		{"inexact price", "PUT", "/prices/gpt-4o-mini", `{"input":"0.0000001"}`, 400, "input"},
		{"price for unknown model", "PUT", "/prices/ghost-model", `{"input":1}`, 400, "model"},
		{"short gateway key", "POST", "/users/tester/keys", `{"name":"k-short","key":"abc"}`, 400, "key"},
		{"gateway key for unknown user", "POST", "/users/ghost/keys", `{"name":"k-ghost"}`, 400, "user"},
		{"bad budget period", "POST", "/users", `{"name":"u-x","budget_period":"weekly"}`, 400, "budget_period"},
		{"bad request filter", "GET", "/requests?status=done", nil, 400, "status"},
		{"bad cursor", "GET", "/requests?cursor=!!", nil, 400, "cursor"},
		{"bad group_by", "GET", "/requests/aggregate?group_by=color", nil, 400, "group_by"},
		{"bad breaker key", "POST", "/breakers/abc/reset", nil, 400, "key_id"},
		{"unknown breaker key", "POST", "/breakers/999999/reset", nil, 404, ""},
		{"unknown request", "GET", "/requests/nope-nope-nope", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v, body := a.do(tt.method, tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if v["error"] == nil {
				t.Fatalf("no error object: %s", body)
			}
			if tt.field != "" {
				if f := fields(v); len(f) == 0 || !strings.HasSuffix(f[0], tt.field) {
					t.Fatalf("fields %v, want %q named: %s", f, tt.field, body)
				}
			}
		})
	}
}

// TestAdminGatewayKeys creates a key (shown once), uses it, restricts it,
// revokes it; the running API follows each change.
func TestAdminGatewayKeys(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	code, v, body := a.do("POST", "/users/tester/keys", map[string]any{"name": "laptop", "allowed_formats": []string{"openai"}})
	if code != 201 {
		t.Fatalf("create key: %d %s", code, body)
	}
	key := v["key"].(string)
	if !strings.HasPrefix(key, "sk-aether-") || len(key) != len("sk-aether-")+32 {
		t.Fatalf("key %q", key)
	}
	var hash []byte
	if err := g.Server.Store.Pool.QueryRow(context.Background(), `SELECT key_hash FROM api_keys WHERE name = 'laptop'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if want := store.HashKey(key); !bytes.Equal(hash, want[:]) {
		t.Fatal("stored hash is not the key's SHA-256")
	}
	if _, _, list := a.do("GET", "/keys", nil); strings.Contains(list, key) {
		t.Fatal("the key is shown again after creation")
	}
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if resp := g.Post(t, "/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + key}); resp.StatusCode != 200 {
		t.Fatalf("new key refused: %d", resp.StatusCode)
	}
	if resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5"}`, map[string]string{"x-api-key": key}); resp.StatusCode != 403 {
		t.Fatalf("format restriction not applied: %d", resp.StatusCode)
	}
	if code, _, body := a.do("PUT", "/keys/laptop", map[string]any{"active": false}); code != 200 {
		t.Fatalf("deactivate: %d %s", code, body)
	}
	if resp := g.Post(t, "/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + key}); resp.StatusCode != 401 {
		t.Fatalf("deactivated key accepted: %d", resp.StatusCode)
	}
	if code, _, _ := a.do("DELETE", "/keys/laptop", nil); code != 204 {
		t.Fatalf("delete key: %d", code)
	}
}

// TestAdminChangeReachesOtherReplica: a change made through one replica's
// admin API is served by another replica within 5 seconds.
func TestAdminChangeReachesOtherReplica(t *testing.T) {
	t.Parallel()
	db := testenvDB(t)
	g1 := gatewaytest.New(t, gatewaytest.Options{AdminToken: adminToken, DatabaseURL: db})
	g2 := gatewaytest.New(t, gatewaytest.Options{DatabaseURL: db, Config: func(c *config.Config) { c.SnapshotRefresh = time.Second }})
	a := adminClient{t: t, url: g1.URL, tok: adminToken}
	code, v, body := a.do("POST", "/users/tester/keys", map[string]any{"name": "replica-key"})
	if code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	key := v["key"].(string)
	start := time.Now()
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for g2.Post(t, "/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + key}).StatusCode != 200 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the other replica did not accept the new key within 5s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A model rename on replica 1 is visible on replica 2 too.
	if code, _, body := a.do("POST", "/models", map[string]any{"name": "gpt-fast", "routes": []any{map[string]any{"provider": "p-openai", "upstream_model": "gpt-4o-mini"}}}); code != 201 {
		t.Fatalf("create model: %d %s", code, body)
	}
	start = time.Now()
	for g2.Post(t, "/v1/chat/completions", `{"model":"gpt-fast","messages":[]}`, gatewaytest.Bearer()).StatusCode != 200 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the other replica did not serve the new model within 5s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAdminExport(t *testing.T) {
	t.Parallel()
	_, a := newAdmin(t)
	req, _ := http.NewRequest("GET", a.url+"/admin/v1/config/export", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	y, _ := io.ReadAll(resp.Body)
	for _, secret := range []string{"k-openai-primary", "k-anthropic-backup", gatewaytest.Key} {
		if strings.Contains(string(y), secret) {
			t.Fatalf("export contains secret %q:\n%s", secret, y)
		}
	}
	if !strings.Contains(string(y), "${AETHER_SECRET_P_OPENAI_PRIMARY}") || !strings.Contains(string(y), "${AETHER_KEY_TESTER_KEY}") {
		t.Fatalf("export lacks placeholders:\n%s", y)
	}
	// The export is a valid configuration file: applied with the secrets
	// in the environment, it parses with the same rules as AETHER_CONFIG.
	f, err := seed.Parse("export.yaml", y, func(k string) string { return "value-of-" + k })
	if err != nil {
		t.Fatalf("export does not parse back: %v\n%s", err, y)
	}
	if len(f.Providers) != 3 || len(f.Models) != 3 || len(f.Prices) != 3 || len(f.Users) != 1 {
		t.Fatalf("round trip lost entities: %+v", f)
	}
	if p := f.Prices[0]; p.Model != "claude-sonnet-4-5" || p.CacheWrite1h == nil || p.CacheWrite1h.String() != "6" {
		t.Fatalf("price round trip: %+v", p)
	}
}

// TestAdminRequests lists, filters, pages and shows recorded requests and
// their aggregates.
func TestAdminRequests(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	ctx := context.Background()
	st := g.Server.Store
	var userID, keyID, providerID, pk int64
	if err := st.Pool.QueryRow(ctx, `SELECT u.id, k.id FROM users u JOIN api_keys k ON k.user_id = u.id`).Scan(&userID, &keyID); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool.QueryRow(ctx, `SELECT p.id, k.id FROM providers p JOIN provider_keys k ON k.provider_id = p.id WHERE p.name = 'p-openai' AND k.name = 'primary'`).Scan(&providerID, &pk); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for i := range 25 {
		status := llm.StatusCompleted
		if i%5 == 0 {
			status = llm.StatusFailed
		}
		meta := llm.RequestMeta{RequestID: fmt.Sprintf("req-%02d", i), UserID: userID, APIKeyID: keyID, Model: "gpt-4o-mini",
			Format: llm.FormatOpenAI, Operation: llm.OpGenerate, ReceivedAt: base.Add(time.Duration(i) * time.Second)}
		plan := []llm.Candidate{{Index: 0, ProviderID: providerID, Provider: "p-openai", KeyID: pk, KeyName: "primary", UpstreamModel: "gpt-4o-mini"}}
		out := llm.Outcome{Status: status, StatusCode: 200, CandidateIndex: 0, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10, Known: true},
			Attempts:   []llm.Attempt{{CandidateIndex: 0, KeyID: pk, Outcome: llm.OutcomeSuccess, StartedAt: meta.ReceivedAt}},
			FinishedAt: meta.ReceivedAt.Add(time.Second)}
		if _, err := st.RecordFinal(ctx, store.FinalRecord{Meta: meta, Plan: plan, Outcome: out, ProviderID: providerID,
			Provider: "p-openai", ProviderKeyID: pk, UpstreamModel: "gpt-4o-mini",
			Cost: &store.Cost{Total: 21_000_000, Input: 15_000_000, Output: 6_000_000, Multiplier: 1_000_000}}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		code, v, body := a.do("GET", "/requests?model=gpt-4o-mini&user=tester&limit=10&cursor="+cursor, nil)
		if code != 200 {
			t.Fatalf("list: %d %s", code, body)
		}
		for _, r := range v["requests"].([]any) {
			seen = append(seen, r.(map[string]any)["request_id"].(string))
		}
		if v["next_cursor"] == nil {
			break
		}
		cursor = v["next_cursor"].(string)
	}
	if len(seen) != 25 || seen[0] != "req-24" || seen[24] != "req-00" {
		t.Fatalf("paged %d requests: %v", len(seen), seen)
	}
	if _, v, _ := a.do("GET", "/requests?status=failed", nil); len(v["requests"].([]any)) != 5 {
		t.Fatalf("status filter: %v", v)
	}
	code, v, body := a.do("GET", "/requests/req-03", nil)
	if code != 200 || !strings.HasSuffix(v["temporal_url"].(string), "/namespaces/default/workflows/req-03") {
		t.Fatalf("detail: %d %s", code, body)
	}
	r := v["request"].(map[string]any)
	if r["cost"].(map[string]any)["total_usd"] != "0.000021000000" || len(r["trace"].([]any)) != 1 || len(r["status_history"].([]any)) != 2 {
		t.Fatalf("detail %s", body)
	}
	code, v, body = a.do("GET", "/requests/aggregate?group_by=model&from="+base.Add(-time.Hour).Format(time.RFC3339), nil)
	if code != 200 {
		t.Fatalf("aggregate: %d %s", code, body)
	}
	var total, failed float64
	for _, row := range v["rows"].([]any) {
		m := row.(map[string]any)
		total += m["requests"].(float64)
		failed += m["failed"].(float64)
	}
	if total != 25 || failed != 5 {
		t.Fatalf("aggregate rows %v", v["rows"])
	}
}

func TestAdminBreakerReset(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	var keyID int64
	if err := g.Server.Store.Pool.QueryRow(context.Background(), `SELECT id FROM provider_keys WHERE name = 'primary' LIMIT 1`).Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Server.Store.Pool.Exec(context.Background(), `INSERT INTO provider_key_health (provider_key_id, state, open_until, consecutive_failures)
		VALUES ($1, 'open', now() + interval '1 hour', 9)`, keyID); err != nil {
		t.Fatal(err)
	}
	_, v, _ := a.do("GET", "/breakers", nil)
	found := false
	for _, b := range v["breakers"].([]any) {
		m := b.(map[string]any)
		if int64(m["key_id"].(float64)) == keyID {
			found = m["state"] == "open" && m["consecutive_failures"].(float64) == 9
		}
	}
	if !found {
		t.Fatalf("open breaker not listed: %v", v)
	}
	if code, _, body := a.do("POST", fmt.Sprintf("/breakers/%d/reset", keyID), nil); code != 200 {
		t.Fatalf("reset: %d %s", code, body)
	}
	var state string
	if err := g.Server.Store.Pool.QueryRow(context.Background(), `SELECT state FROM provider_key_health WHERE provider_key_id = $1`, keyID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "closed" {
		t.Fatalf("durable state %s after reset", state)
	}
}

func testenvDB(t *testing.T) string { return testenv.MigratedDatabaseURL(t) }

func TestAdminPriceImport(t *testing.T) {
	t.Parallel()
	g, a := newAdmin(t)
	if code, _, body := a.do("POST", "/models", map[string]any{"name": "gpt-4.1", "routes": []any{map[string]any{"provider": "p-openai"}}}); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	doc := `{
		"openai/gpt-4.1": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07},
		"gpt-4o-mini": {"input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07},
		"sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0}
	}`
	code, v, body := a.do("POST", "/prices/import", doc)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if fmt.Sprint(v["imported"]) != "[gpt-4.1]" || fmt.Sprint(v["kept_existing"]) != "[gpt-4o-mini]" {
		t.Fatalf("import result %s", body)
	}
	var in string
	if err := g.Server.Store.Pool.QueryRow(context.Background(), `SELECT input_per_mtok::text FROM prices p JOIN models m ON m.id = p.model_id WHERE m.name = 'gpt-4.1'`).Scan(&in); err != nil {
		t.Fatal(err)
	}
	if in != "2.000000000" {
		t.Fatalf("imported input price %s", in)
	}
	if code, v, _ = a.do("POST", "/prices/import?overwrite=true", doc); code != 200 || fmt.Sprint(v["imported"]) != "[gpt-4o-mini gpt-4.1]" && fmt.Sprint(v["imported"]) != "[gpt-4.1 gpt-4o-mini]" {
		t.Fatalf("overwrite: %v", v)
	}
	if code, _, _ := a.do("POST", "/prices/import", `not json`); code != 400 {
		t.Fatalf("bad document: %d", code)
	}
}
