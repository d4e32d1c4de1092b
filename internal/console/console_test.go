package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminToken = "console-test-admin-token-0123456789abcdef"

// client is a browser-like HTTP client: cookies kept, redirects not
// followed, so each answer can be checked.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, form url.Values) (int, http.Header, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, resp.Header, string(b)
}

func (c *client) login() {
	c.t.Helper()
	if st, h, _ := c.do("POST", "/console/login", url.Values{"token": {adminToken}}); st != http.StatusSeeOther || h.Get("Location") != "/console/" {
		c.t.Fatalf("login: %d %q", st, h.Get("Location"))
	}
	if st, _, _ := c.do("GET", "/console/", nil); st != http.StatusOK {
		c.t.Fatalf("overview after login: %d", st)
	}
}

// pages and actions lists every console route; each must be refused
// without a session.
var (
	pages   = []string{"/console/", "/console/requests", "/console/requests/x", "/console/providers", "/console/models", "/console/users", "/console/audit"}
	actions = []string{"/console/logout", "/console/providers", "/console/providers/p", "/console/providers/p/delete", "/console/providers/p/endpoints",
		"/console/providers/p/endpoints/e/delete", "/console/providers/p/keys", "/console/providers/p/keys/k/delete",
		"/console/breakers/1/reset", "/console/models", "/console/models/m/delete", "/console/prices", "/console/prices/delete",
		"/console/prices/import", "/console/users", "/console/users/u/delete", "/console/keys", "/console/keys/k", "/console/keys/k/delete"}
)

func TestConsoleSecurity(t *testing.T) {
	g := gatewaytest.New(t, gatewaytest.Options{AdminToken: adminToken})
	anon := newClient(t, g.URL)

	t.Run("refused without a session", func(t *testing.T) {
		for _, p := range pages {
			st, h, _ := anon.do("GET", p, nil)
			if st != http.StatusSeeOther || h.Get("Location") != "/console/login" {
				t.Errorf("GET %s: %d %q, want a redirect to the login", p, st, h.Get("Location"))
			}
		}
		for _, p := range actions {
			if st, _, _ := anon.do("POST", p, url.Values{"name": {"x"}}); st != http.StatusForbidden {
				t.Errorf("POST %s: %d, want 403", p, st)
			}
		}
		forged := newClient(t, g.URL)
		u, _ := url.Parse(g.URL)
		forged.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "aether_console", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAA", Path: "/console"}})
		if st, _, _ := forged.do("GET", "/console/users", nil); st != http.StatusSeeOther {
			t.Errorf("forged cookie: %d", st)
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		st, _, body := anon.do("POST", "/console/login", url.Values{"token": {"nope"}})
		if st != http.StatusUnauthorized || !strings.Contains(body, "not the admin token") {
			t.Errorf("%d %s", st, body)
		}
	})

	c := newClient(t, g.URL)
	c.login()

	t.Run("headers and cookie", func(t *testing.T) {
		_, h, _ := c.do("GET", "/console/providers", nil)
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP allows inline: %q", csp)
		}
		l := newClient(t, g.URL)
		_, h, _ = l.do("POST", "/console/login", url.Values{"token": {adminToken}})
		ck := h.Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Max-Age=", "Path=/console"} {
			if !strings.Contains(ck, want) {
				t.Errorf("cookie %q lacks %s", ck, want)
			}
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		st, _, _ := c.do("POST", "/console/users", url.Values{"name": {"csrf-victim"}})
		if st != http.StatusForbidden {
			t.Errorf("change without CSRF token: %d", st)
		}
		st, _, _ = c.do("POST", "/console/users", url.Values{"name": {"csrf-victim"}, "csrf": {"forged"}})
		if st != http.StatusForbidden {
			t.Errorf("change with a wrong CSRF token: %d", st)
		}
		if _, _, body := c.do("GET", "/console/users", nil); strings.Contains(body, "csrf-victim") {
			t.Error("the refused change was made")
		}
	})

	t.Run("validation errors beside fields", func(t *testing.T) {
		c.do("GET", "/console/providers", nil)
		st, _, body := c.do("POST", "/console/providers", url.Values{"csrf": {c.csrf}, "name": {"bad"}, "endpoints[0].format": {"klingon"},
			"endpoints[0].base_url": {"not a url"}, "keys[0].secret": {"sk-TOPSECRET-VALUE"}, "priority": {"high"}})
		if st != http.StatusBadRequest {
			t.Fatalf("status %d", st)
		}
		if !strings.Contains(body, `data-field="endpoints[0].format"`) && !strings.Contains(body, `data-field="priority"`) {
			t.Errorf("no field error shown:\n%s", body)
		}
		if strings.Contains(body, "sk-TOPSECRET-VALUE") {
			t.Error("a submitted secret was rendered back")
		}
	})

	t.Run("endpoint and key of a provider", func(t *testing.T) {
		c.do("GET", "/console/providers", nil)
		if st, _, _ := c.do("POST", "/console/providers/p-openai/endpoints", url.Values{"csrf": {c.csrf}, "endpoints[0].format": {"openai-chat"},
			"endpoints[0].base_url": {"https://chat.example.com/v1"}}); st != http.StatusSeeOther {
			t.Fatalf("add endpoint: %d", st)
		}
		st, _, body := c.do("POST", "/console/providers/p-openai/keys", url.Values{"csrf": {c.csrf}, "keys[0].name": {"third"}, "keys[0].priority": {"x"}})
		if st != http.StatusBadRequest || !strings.Contains(body, `data-field="keys[0].priority"`) {
			t.Errorf("bad key priority: %d\n%s", st, body[strings.Index(body, "<main>"):])
		}
		if st, _, _ := c.do("POST", "/console/providers/p-openai/keys", url.Values{"csrf": {c.csrf}, "keys[0].name": {"third"},
			"keys[0].secret": {"sk-third-SECRET-9999"}, "keys[0].priority": {"3"}}); st != http.StatusSeeOther {
			t.Fatalf("add key: %d", st)
		}
		_, _, body = c.do("GET", "/console/providers", nil)
		if !strings.Contains(body, "https://chat.example.com/v1") || !strings.Contains(body, "third") || strings.Contains(body, "sk-third-SECRET-9999") {
			t.Error("the endpoint or key is missing, or the secret is shown")
		}
		if st, _, _ := c.do("POST", "/console/providers/p-openai", url.Values{"csrf": {c.csrf}, "priority": {"77"}, "active": {"true"}}); st != http.StatusSeeOther {
			t.Fatalf("edit provider: %d", st)
		}
		if _, _, body := c.do("GET", "/console/providers", nil); !strings.Contains(body, "priority 77") || !strings.Contains(body, "https://chat.example.com/v1") {
			t.Error("the provider's priority did not change, or its endpoints went")
		}
		if st, _, _ := c.do("POST", "/console/providers/p-openai/keys/third/delete", url.Values{"csrf": {c.csrf}}); st != http.StatusSeeOther {
			t.Errorf("delete key: %d", st)
		}
	})

	t.Run("script in a name is inert", func(t *testing.T) {
		c.do("GET", "/console/providers", nil)
		st, _, _ := c.do("POST", "/console/providers", url.Values{"csrf": {c.csrf}, "name": {"<script>alert(1)</script>"},
			"endpoints[0].format": {"openai"}, "endpoints[0].base_url": {"https://example.com/v1"}})
		if st != http.StatusSeeOther {
			t.Fatalf("create: %d", st)
		}
		_, _, body := c.do("GET", "/console/providers", nil)
		if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the name is not escaped")
		}
	})

	t.Run("secrets masked, gateway key once", func(t *testing.T) {
		_, _, body := c.do("GET", "/console/providers", nil)
		if strings.Contains(body, "k-openai-primary") {
			t.Error("a provider secret is shown")
		}
		c.do("GET", "/console/users", nil)
		st, h, body := c.do("POST", "/console/keys", url.Values{"csrf": {c.csrf}, "user": {"tester"}, "name": {"once"}})
		if st != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key: %d %q", st, h.Get("Cache-Control"))
		}
		key := regexp.MustCompile(`sk-aether-[A-Za-z0-9]{32}`).FindString(body)
		if key == "" {
			t.Fatal("the new key is not shown")
		}
		if _, _, body = c.do("GET", "/console/users", nil); strings.Contains(body, key) {
			t.Error("the key is shown again")
		}
	})

	t.Run("edits through the admin API", func(t *testing.T) {
		c.do("GET", "/console/users?edit=tester", nil)
		if st, _, _ := c.do("POST", "/console/users", url.Values{"csrf": {c.csrf}, "edit": {"tester"}, "name": {"tester"}, "rpm_limit": {"4242"}}); st != http.StatusSeeOther {
			t.Fatalf("edit user: %d", st)
		}
		if _, _, body := c.do("GET", "/console/users", nil); !strings.Contains(body, "4242") {
			t.Error("the user's new limit is not shown")
		}
		st, _, body := c.do("POST", "/console/users", url.Values{"csrf": {c.csrf}, "edit": {"tester"}, "name": {"tester"}, "rpm_limit": {"lots"}})
		if st != http.StatusBadRequest || !strings.Contains(body, `data-field="rpm_limit"`) {
			t.Errorf("a bad limit: %d, no error beside rpm_limit", st)
		}
		c.do("GET", "/console/models?edit=gpt-4o-mini", nil)
		if st, _, _ := c.do("POST", "/console/models", url.Values{"csrf": {c.csrf}, "edit": {"gpt-4o-mini"}, "name": {"gpt-4o-mini"},
			"aliases": {"mini-alias-7"}, "routes[0].provider": {"p-openai"}}); st != http.StatusSeeOther {
			t.Fatalf("edit model: %d", st)
		}
		if _, _, body := c.do("GET", "/console/models", nil); !strings.Contains(body, "mini-alias-7") {
			t.Error("the model's new alias is not shown")
		}
	})

	t.Run("LiteLLM price file upload", func(t *testing.T) {
		c.do("GET", "/console/models", nil)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf", c.csrf)
		_ = mw.WriteField("overwrite", "true")
		fw, _ := mw.CreateFormFile("file", "model_prices_and_context_window.json")
		_, _ = fw.Write([]byte(`{"gpt-4o-mini": {"input_cost_per_token": 1.7e-07, "output_cost_per_token": 6.1e-07, "litellm_provider": "openai"}}`))
		_ = mw.Close()
		req, _ := http.NewRequest("POST", g.URL+"/console/prices/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Imported prices for 1 models (gpt-4o-mini)") {
			t.Errorf("import: %d", resp.StatusCode)
		}
		if _, _, body := c.do("GET", "/console/models", nil); !strings.Contains(body, "<td>0.17</td>") {
			t.Error("the imported input price is not shown")
		}
	})

	t.Run("logout ends the session", func(t *testing.T) {
		jar := c.hc.Jar
		u, _ := url.Parse(g.URL + "/console/")
		old := jar.Cookies(u)
		c.do("GET", "/console/", nil)
		if st, _, _ := c.do("POST", "/console/logout", url.Values{"csrf": {c.csrf}}); st != http.StatusSeeOther {
			t.Fatalf("logout: %d", st)
		}
		replay := newClient(t, g.URL)
		replay.hc.Jar.SetCookies(u, old)
		if st, _, _ := replay.do("GET", "/console/", nil); st != http.StatusSeeOther {
			t.Errorf("the logged-out cookie still works: %d", st)
		}
	})
}
