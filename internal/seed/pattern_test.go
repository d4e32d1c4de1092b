package seed_test

import (
	"context"
	"slices"
	"testing"

	"aether/internal/seed"
)

// patternDoc has pattern models, a route with its own upstream model, a
// pattern price and an allow-list naming a pattern.
const patternDoc = `providers:
  - name: p
    endpoints: [{format: openai, base_url: "http://127.0.0.1:1/v1"}]
    keys: [{name: k, secret: sk-provider-secret, allowed_models: ["claude-*"]}]
models:
  - name: claude-*
    routes: [{provider: p}]
  - name: o[0-9]*
    routes: [{provider: p, upstream_model: o-upstream}]
  - name: claude-exact
    routes: [{provider: p}]
prices:
  - {model: "claude-*", input: 5, output: 25, source: "operator"}
users:
  - name: u
    allowed_models: ["o[0-9]*", claude-exact]
    keys: [{name: gk, key: sk-gateway-key-1, allowed_models: ["claude-*"]}]
`

// TestPatternYAMLRoundTrip: patterns survive file → database → export →
// file unchanged; a pattern's route without an upstream model stays
// without one (it passes the requested name on).
func TestPatternYAMLRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f, err := seed.Parse("patterns.yaml", []byte(patternDoc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(ctx, s, f); err != nil {
		t.Fatal(err)
	}
	cs, err := s.LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	y, err := seed.MarshalYAML(seed.FromConfig(cs, seed.Export))
	if err != nil {
		t.Fatal(err)
	}
	back, err := seed.Parse("export.yaml", y, func(k string) string { return "value-of-" + k })
	if err != nil {
		t.Fatalf("export does not parse back: %v\n%s", err, y)
	}
	models := map[string]seed.Model{}
	for _, m := range back.Models {
		models[m.Name] = m
	}
	for name, upstream := range map[string]string{"claude-*": "", "o[0-9]*": "o-upstream", "claude-exact": "claude-exact"} {
		m, ok := models[name]
		if !ok || len(m.Routes) != 1 || m.Routes[0].UpstreamModel != upstream {
			t.Fatalf("model %q after round trip: %+v (want upstream %q)\n%s", name, m, upstream, y)
		}
	}
	if len(back.Prices) != 1 || back.Prices[0].Model != "claude-*" || back.Prices[0].Input.String() != "5" {
		t.Fatalf("pattern price after round trip: %+v", back.Prices)
	}
	u := back.Users[0]
	if !slices.Equal(u.AllowedModels, []string{"o[0-9]*", "claude-exact"}) || !slices.Equal(u.Keys[0].AllowedModels, []string{"claude-*"}) {
		t.Fatalf("allow-lists after round trip: %+v", u)
	}
	if !slices.Equal(back.Providers[0].Keys[0].AllowedModels, []string{"claude-*"}) {
		t.Fatalf("provider key allow-list after round trip: %+v", back.Providers[0].Keys[0])
	}
	// Applying the export again changes nothing.
	if _, err := seed.Apply(ctx, s, back); err != nil {
		t.Fatal(err)
	}
	cs2, err := s.LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cs.Routes, cs2.Routes) {
		t.Fatalf("routes changed on re-apply: %+v → %+v", cs.Routes, cs2.Routes)
	}
}

// TestPatternPricingFor: a request recorded under a name a pattern serves
// pays the pattern's price; an exact model's own (missing) price is never
// replaced by a pattern's; a name no model serves has no price.
func TestPatternPricingFor(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f, err := seed.Parse("patterns.yaml", []byte(patternDoc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Apply(ctx, s, f); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"claude-opus-4-8": "5", "claude-exact": "", "o3": "", "gpt-6.1-sol": ""} {
		facts, err := s.PricingFor(ctx, name, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if facts.Price != nil {
			got = facts.Price.Input.String()
		}
		if got != want {
			t.Errorf("%s: price %q, want %q", name, got, want)
		}
	}
}
