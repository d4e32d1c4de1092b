package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestCommands drives the common operations against a real gateway.
func TestCommands(t *testing.T) {
	g := gatewaytest.New(t, gatewaytest.Options{AdminToken: "ctl-admin-token-000001-4e8b1f6a2c9d07e3"})
	t.Setenv("AETHER_ADMIN_URL", g.URL)
	t.Setenv("AETHER_ADMIN_TOKEN", "ctl-admin-token-000001-4e8b1f6a2c9d07e3")
	ctl := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(args, &out); err != nil {
			t.Fatalf("aetherctl %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	out := ctl("keys", "create", "--user", "tester", "--name", "ci-key", "--formats", "openai", "--rpm", "100")
	key := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if !strings.HasPrefix(key, "sk-aether-") {
		t.Fatalf("keys create printed %q", out)
	}
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the created key does not work: %v %v", resp, err)
	}
	if list := ctl("keys", "list"); !strings.Contains(list, "ci-key") || strings.Contains(list, key) {
		t.Fatalf("keys list:\n%s", list)
	}
	if l := ctl("breakers", "list"); !strings.Contains(l, "p-openai") || !strings.Contains(l, "closed") {
		t.Fatalf("breakers list:\n%s", l)
	}
	if out := ctl("breakers", "reset", "1"); !strings.Contains(out, "reset") {
		t.Fatalf("breakers reset: %s", out)
	}
	if l := ctl("requests", "list", "--model", "gpt-4o-mini"); !strings.Contains(l, "REQUEST_ID") {
		t.Fatalf("requests list:\n%s", l)
	}
	if y := ctl("config", "export"); !strings.Contains(y, "${AETHER_SECRET_P_OPENAI_PRIMARY}") {
		t.Fatalf("config export:\n%s", y)
	}
	var out2 bytes.Buffer
	if err := run([]string{"requests", "show", "no-such-request"}, &out2); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("show of an unknown request: %v", err)
	}
	if err := run([]string{"keys", "create", "--user", "tester"}, &out2); err == nil {
		t.Fatal("keys create without --name succeeded")
	}
}
