package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// secondKey is the gateway key of a second user, so a test can tell two
// callers' answers apart.
const secondKey = "sk-test-gateway-key-0002"

const twoUsersYAML = gatewaytest.DefaultYAML + `  - name: second
    keys: [{name: second-key, key: "` + secondKey + `"}]
`

// TestExpectContinueAnswersStayWithTheirCaller: clients that send
// `Expect: 100-continue` (curl with a large body, .NET Framework,
// PowerShell 5.1) each get their own answer, the upstream never sees the
// header, no attempt fails, and a plain request afterwards still succeeds.
// Before the fix the upstream's `100 Continue` was taken for the answer,
// the real answer stayed unread on a pooled connection and went to the
// next request, from whichever user, and the breakers opened on healthy
// keys.
func TestExpectContinueAnswersStayWithTheirCaller(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: twoUsersYAML})
	send := func(key string, chunks int, expect bool) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, g.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		// The number of chunks is this request's marker: the simulated
		// upstream answers with ExpectedText(chunks).
		req.Header.Set(fakeupstream.HeaderChunks, strconv.Itoa(chunks))
		if expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var got struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &got); err != nil || len(got.Choices) != 1 {
				t.Fatalf("answer %s: %v", body, err)
			}
			return resp.StatusCode, got.Choices[0].Message.Content, resp.Header.Get("X-Request-ID")
		}
		return resp.StatusCode, string(body), resp.Header.Get("X-Request-ID")
	}
	keys := []string{gatewaytest.Key, secondKey}
	for i := range 6 {
		chunks := i + 1
		status, text, id := send(keys[i%2], chunks, true)
		if status != 200 || text != fakeupstream.ExpectedText(chunks) {
			t.Fatalf("request %d (user %d) got %d %q, want its own answer %q", i, i%2, status, text, fakeupstream.ExpectedText(chunks))
		}
		out := g.Finished(t, id).Outcome
		if len(out.Attempts) != 1 || out.Attempts[0].Outcome != llm.OutcomeSuccess {
			t.Fatalf("request %d attempts %+v", i, out.Attempts)
		}
	}
	for _, r := range g.Fake.Requests() {
		if v := r.Header.Get("Expect"); v != "" {
			t.Fatalf("Expect %q forwarded upstream", v)
		}
	}
	status, text, id := send(gatewaytest.Key, 2, false)
	if status != 200 || text != fakeupstream.ExpectedText(2) {
		t.Fatalf("plain request after the Expect ones: %d %q", status, text)
	}
	for _, a := range g.Finished(t, id).Outcome.Attempts {
		if st := g.Server.Breakers.State(a.KeyID); st != "closed" {
			t.Fatalf("breaker of key %d is %s", a.KeyID, st)
		}
	}
}

// TestHopByHopHeadersNotForwarded: hop-by-hop headers, and any header the
// client's Connection header names, stay between the client and the
// gateway.
func TestHopByHopHeadersNotForwarded(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	h := gatewaytest.Bearer()
	for k, v := range map[string]string{
		"Connection": "X-Hop-Secret", "X-Hop-Secret": "s", "Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic eDp5",
		"Proxy-Foo": "bar", "Te": "trailers", "Trailer": "X-T", "Upgrade": "websocket", "X-Kept": "yes",
	} {
		h[k] = v
	}
	resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	reqs := g.Fake.Requests()
	got := reqs[len(reqs)-1].Header
	for _, name := range []string{"X-Hop-Secret", "Keep-Alive", "Proxy-Authorization", "Proxy-Foo", "Te", "Trailer", "Upgrade", "Expect"} {
		if v := got.Get(name); v != "" {
			t.Errorf("%s: %q forwarded", name, v)
		}
	}
	if got.Get("X-Kept") != "yes" {
		t.Error("an end-to-end header was dropped")
	}
}

// fixture reads a real provider error body from internal/upstream/testdata.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../upstream/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProviderKeyFaultIn400FailsOver: a 400 whose body says the provider
// key or its account is at fault (Gemini's invalid or expired key and its
// billing/region FAILED_PRECONDITION, Anthropic's "credit balance is too
// low") fails over to the next key, counts against the faulty key until
// its breaker opens, and never shows the provider's text to the client.
// Before the fix these matched the client-error patterns: the 400 went to
// the client with the provider's billing text, and the key stayed in use.
func TestProviderKeyFaultIn400FailsOver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture, format, secret string
		class                   llm.ErrorClass
		hidden                  string // provider text the client must not see
	}{
		{"gemini_api_key_invalid.json", "gemini", "k-gemini-primary", llm.ErrUpstreamAuth, "API key not valid"},
		{"gemini_api_key_expired.json", "gemini", "k-gemini-primary", llm.ErrUpstreamAuth, "API key expired"},
		{"gemini_free_tier_billing.json", "gemini", "k-gemini-primary", llm.ErrUpstreamAccount, "enable billing"},
		{"gemini_location_unsupported.json", "gemini", "k-gemini-primary", llm.ErrUpstreamAccount, "User location"},
		{"anthropic_credit_balance_too_low.json", "anthropic", "k-anthropic-primary", llm.ErrUpstreamAccount, "credit balance"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.fixture, ".json"), func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.New(t, gatewaytest.Options{
				Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{tt.secret: {Status: 400, ErrorBody: fixture(t, tt.fixture)}}},
				Config: func(c *config.Config) {
					c.BreakerMinReqs, c.BreakerRatio, c.BreakerOpenFor = 2, 0.5, time.Minute
					c.AffinityTTL = time.Nanosecond // affinity would stick to the backup after its first success
				},
			})
			send := func() (string, *llm.Outcome) {
				t.Helper()
				var resp *http.Response
				if tt.format == "gemini" {
					resp = g.Post(t, "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
						map[string]string{"x-goog-api-key": gatewaytest.Key})
				} else {
					resp = g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
						map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || !strings.Contains(string(body), "wörld") || strings.Contains(string(body), tt.hidden) {
					t.Fatalf("client got %d %s", resp.StatusCode, body)
				}
				return string(body), g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
			}
			var opened []llm.BreakerChange
			for i := range 2 {
				_, out := send()
				if len(out.Attempts) != 2 {
					t.Fatalf("request %d attempts %+v", i, out.Attempts)
				}
				first, second := out.Attempts[0], out.Attempts[1]
				if first.Outcome != llm.OutcomeFailed || first.ErrorClass != tt.class || first.StatusCode != 400 || second.Outcome != llm.OutcomeSuccess {
					t.Fatalf("request %d attempts %+v, want the first failed with %s", i, out.Attempts, tt.class)
				}
				opened = append(opened, out.BreakerChanges...)
			}
			if len(opened) != 1 || opened[0].State != "open" {
				t.Fatalf("breaker changes after 2 key faults: %+v", opened)
			}
			// Open: the faulty key is skipped.
			before := g.Fake.CountKey(tt.secret)
			if _, out := send(); len(out.Attempts) != 1 || g.Fake.CountKey(tt.secret) != before {
				t.Fatalf("open breaker did not skip the key: %+v", out.Attempts)
			}
		})
	}
}

// TestProviderKeyFaultOnEveryKey: when every key answers with a key
// fault, the client gets the gateway's own 503 in its format, without the
// provider's billing text.
func TestProviderKeyFaultOnEveryKey(t *testing.T) {
	t.Parallel()
	body := fixture(t, "anthropic_credit_balance_too_low.json")
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Status: 400, ErrorBody: body}}})
	resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || strings.Contains(string(got), "credit") || !strings.Contains(string(got), `"type":"error"`) {
		t.Fatalf("client got %d %s", resp.StatusCode, got)
	}
	out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
	if len(out.Attempts) != 2 || out.ErrorClass != llm.ErrUpstreamAccount {
		t.Fatalf("outcome %s, attempts %+v", out.ErrorClass, out.Attempts)
	}
}
