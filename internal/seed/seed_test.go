package seed_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"aether/internal/secret"
	"aether/internal/seed"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func noEnv(string) string { return "" }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s := testenv.Store(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s.Box = box
	return s
}

func count(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var tables = []string{"providers", "endpoints", "provider_keys", "models", "model_routes", "prices", "users", "api_keys"}

func TestApplyDevConfigIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f, err := seed.Load("../../config/dev.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	first, err := seed.Apply(ctx, s, f)
	if err != nil {
		t.Fatal(err)
	}
	if first.Models != 10 || first.GatewayKeys != 1 || first.Providers != 4 {
		t.Fatalf("summary %+v", first)
	}
	counts := map[string]int{}
	ids := map[string]int64{}
	for _, tb := range tables {
		counts[tb] = count(t, s, tb)
	}
	rows, err := s.Pool.Query(ctx, `SELECT name, id FROM models`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	f2, err := seed.Load("../../config/dev.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(ctx, s, f2); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if got := count(t, s, tb); got != counts[tb] {
			t.Errorf("%s: %d rows after second apply, want %d", tb, got, counts[tb])
		}
	}
	for name, id := range ids {
		var got int64
		if err := s.Pool.QueryRow(ctx, `SELECT id FROM models WHERE name = $1`, name).Scan(&got); err != nil || got != id {
			t.Errorf("model %s id changed from %d to %d (%v)", name, id, got, err)
		}
	}
	// The demo key is stored as its hash, never in clear.
	var prefix string
	var hash []byte
	if err := s.Pool.QueryRow(ctx, `SELECT key_prefix, key_hash FROM api_keys WHERE name = 'demo'`).Scan(&prefix, &hash); err != nil {
		t.Fatal(err)
	}
	want := store.HashKey("sk-aether-dev")
	if !bytes.Equal(hash, want[:]) || strings.Contains(prefix, "sk-aether-dev") {
		t.Fatalf("key stored as prefix %q hash %x", prefix, hash)
	}
	// Exact decimal prices survive the round trip.
	var input, longOut string
	if err := s.Pool.QueryRow(ctx, `SELECT p.input_per_mtok::text, p.long_output_per_mtok::text FROM prices p JOIN models m ON m.id = p.model_id WHERE m.name = 'claude-sonnet-4-5'`).Scan(&input, &longOut); err != nil {
		t.Fatal(err)
	}
	if input != "3.000000000" || longOut != "22.500000000" {
		t.Fatalf("prices stored as %s / %s", input, longOut)
	}
}

func TestApplyChangesAreUpserts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	doc := func(priority string) []byte {
		return []byte(`
providers:
  - name: p1
    priority: ` + priority + `
    endpoints: [{format: openai, base_url: "http://127.0.0.1:1/v1"}]
    keys: [{name: k, secret: s3cret-value-long-enough}]
`)
	}
	for _, prio := range []string{"5", "7"} {
		f, err := seed.Parse("inline.yaml", doc(prio), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seed.Apply(ctx, s, f); err != nil {
			t.Fatal(err)
		}
	}
	var prio, n int
	if err := s.Pool.QueryRow(ctx, `SELECT priority, (SELECT count(*) FROM providers) FROM providers WHERE name = 'p1'`).Scan(&prio, &n); err != nil {
		t.Fatal(err)
	}
	if prio != 7 || n != 1 {
		t.Fatalf("priority %d with %d providers, want 7 with 1", prio, n)
	}
}

func TestSecretsAreSealed(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const providerSecret = "sk-live-PROVIDER-SECRET-0123456789"
	f, err := seed.Parse("inline.yaml", []byte(`
providers:
  - name: p1
    endpoints:
      - format: anthropic
        base_url: https://api.example.com
        headers: {X-Custom-Auth: "${HEADER_SECRET}"}
    keys: [{name: k, secret: "${PROVIDER_SECRET}"}]
`), func(k string) string {
		return map[string]string{"PROVIDER_SECRET": providerSecret, "HEADER_SECRET": "header-secret-value-42"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(ctx, s, f); err != nil {
		t.Fatal(err)
	}
	// Nothing in any row of either table contains the secrets in clear.
	var dump string
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT string_agg(t::text, '|') FROM provider_keys t) || (SELECT string_agg(e::text, '|') FROM endpoints e)`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secretText := range []string{providerSecret, "PROVIDER-SECRET", "header-secret-value-42"} {
		if strings.Contains(dump, secretText) {
			t.Fatalf("table dump contains %q: %s", secretText, dump)
		}
	}
	var sealed, preview string
	if err := s.Pool.QueryRow(ctx, `SELECT secret_sealed, secret_preview FROM provider_keys`).Scan(&sealed, &preview); err != nil {
		t.Fatal(err)
	}
	got, err := s.Box.Open(sealed, "aether/provider_key")
	if err != nil || got != providerSecret {
		t.Fatalf("round trip = %q, %v", got, err)
	}
	if preview != "sk-l…6789" {
		t.Fatalf("preview %q", preview)
	}
	other, _ := secret.NewBox(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, "aether/provider_key"); err == nil {
		t.Fatal("a different AETHER_ENCRYPTION_KEY must not open the secret")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error: file, line, field
	}{
		{"unknown field", "providers:\n  - name: p\n    prioritty: 3\n", []string{"bad.yaml:3:", "prioritty"}},
		{"bad yaml", "providers:\n  - name: [unclosed\n", []string{"bad.yaml:2:"}},
		{"wrong type", "providers:\n  - name: p\n    priority: high\n", []string{"bad.yaml:3:"}},
		{"unknown format", "providers:\n  - name: p\n    endpoints:\n      - format: opneai\n        base_url: http://x\n", []string{"bad.yaml:4:", "providers[0].endpoints[0].format", "opneai"}},
		{"relative url", "providers:\n  - name: p\n    endpoints:\n      - format: openai\n        base_url: /v1\n", []string{"bad.yaml:5:", "base_url"}},
		{"missing env", "providers:\n  - name: p\n    keys:\n      - name: k\n        secret: ${NOPE_NOT_SET}\n", []string{"bad.yaml:5:", "providers[0].keys[0].secret", "NOPE_NOT_SET"}},
		{"duplicate provider", "providers:\n  - name: p\n  - name: p\n", []string{"bad.yaml:3:", "already defined"}},
		{"missing name", "providers:\n  - priority: 1\n", []string{"bad.yaml:2:", "providers[0].name", "required"}},
		{"route to unknown provider", "models:\n  - name: m\n    routes: [{provider: ghost}]\n", []string{"bad.yaml:3:", "ghost"}},
		{"alias collides", "models:\n  - name: a\n  - name: b\n    aliases: [a]\n", []string{"bad.yaml:4:", "models[1].aliases[0]"}},
		{"inexact price", "models:\n  - name: m\nprices:\n  - model: m\n    input: 0.0000001\n", []string{"bad.yaml:5:", "6 decimal"}},
		{"price for unknown model", "prices:\n  - model: ghost\n    input: 1\n", []string{"bad.yaml:2:", "prices[0].model"}},
		{"short gateway key", "users:\n  - name: u\n    keys:\n      - name: k\n        key: short\n", []string{"bad.yaml:5:", "users[0].keys[0].key"}},
		{"bad pattern", "models:\n  - name: claude-[\n", []string{"bad.yaml:2:", "models[0].name", "not a valid pattern"}},
		{"alias of a pattern", "models:\n  - name: claude-*\n    aliases: [claude]\n", []string{"bad.yaml:3:", "models[0].aliases[0]", "no aliases"}},
		{"pattern alias", "models:\n  - name: c\n    aliases: [c-*]\n", []string{"bad.yaml:3:", "models[0].aliases[0]", "exact name"}},
		{"pattern upstream", "providers:\n  - name: p\nmodels:\n  - name: c*\n    routes: [{provider: p, upstream_model: d*}]\n", []string{"models[0].routes[0].upstream_model", "exact name"}},
		{"bad key format", "users:\n  - name: u\n    keys:\n      - name: k\n        key: long-enough-key\n        allowed_formats: [soap]\n", []string{"bad.yaml:6:", "soap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seed.Parse("bad.yaml", []byte(tt.doc), noEnv)
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseEmptyFile(t *testing.T) {
	f, err := seed.Parse("empty.yaml", nil, noEnv)
	if err != nil || len(f.Providers) != 0 {
		t.Fatalf("empty file: %v, %+v", err, f)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("providers:\n  - name: p\n    priority: 3\n"))
	f.Add([]byte("models:\n  - name: m\n    aliases: [a, b]\n"))
	f.Add([]byte("prices:\n  - {model: m, input: 0.15}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = seed.Parse("fuzz.yaml", data, noEnv) // must not panic
	})
}
