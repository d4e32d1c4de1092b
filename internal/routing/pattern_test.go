package routing

import (
	"errors"
	"testing"

	"aether/internal/llm"
	"aether/internal/store"
)

// patterns adds pattern entries to the snapshot: "c*" (provider a),
// "claude-*" (provider b), "claude-opus-*" (provider a, its own upstream
// name), "o[0-9]*" and a later "o*" (provider b), and the exact model
// "claude-exact" (provider a).
func patterns(cs *store.ConfigSet) {
	cs.Models = append(cs.Models,
		store.Model{ID: 2, Name: "c*", Active: true},
		store.Model{ID: 3, Name: "claude-*", Active: true},
		store.Model{ID: 4, Name: "claude-opus-*", Active: true},
		store.Model{ID: 5, Name: "o[0-9]*", Active: true},
		store.Model{ID: 6, Name: "o?*", Active: true},
		store.Model{ID: 7, Name: "claude-exact", Active: true},
		store.Model{ID: 8, Name: "claude-off*", Active: false},
	)
	cs.Routes = append(cs.Routes,
		store.ModelRoute{ModelID: 2, ProviderID: 1, UpstreamModel: "c*", Active: true},
		store.ModelRoute{ModelID: 3, ProviderID: 2, UpstreamModel: "", Active: true},
		store.ModelRoute{ModelID: 4, ProviderID: 1, UpstreamModel: "opus-upstream", Active: true},
		store.ModelRoute{ModelID: 5, ProviderID: 1, UpstreamModel: "o[0-9]*", Active: true},
		store.ModelRoute{ModelID: 6, ProviderID: 2, UpstreamModel: "o?*", Active: true},
		store.ModelRoute{ModelID: 7, ProviderID: 1, UpstreamModel: "claude-exact", Active: true},
		store.ModelRoute{ModelID: 8, ProviderID: 1, UpstreamModel: "claude-off*", Active: true},
	)
}

// TestPatternPrecedence: an exact name or alias wins over every pattern;
// among patterns the longest literal prefix wins, then the fewest
// wildcards, then declaration order; the requested name is the model's
// name and goes upstream unless the route names its own upstream model.
func TestPatternPrecedence(t *testing.T) {
	s := snapshot(patterns)
	c := caller(t, s)
	tests := []struct {
		name, model           string
		wantID                int64
		wantPattern, wantName string
		wantUpstream          string
	}{
		{"exact name wins", "claude-exact", 7, "", "claude-exact", "claude-exact"},
		{"alias wins", "m-alias", 1, "", "m", "m-a"},
		{"longest literal prefix", "claude-opus-4-8", 4, "claude-opus-*", "claude-opus-4-8", "opus-upstream"},
		{"shorter prefix", "claude-sonnet-4-5", 3, "claude-*", "claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"shortest prefix", "codex", 2, "c*", "codex", "codex"},
		{"fewer wildcards on equal prefix", "o3", 5, "o[0-9]*", "o3", "o3"},
		{"other pattern", "omni", 6, "o?*", "omni", "omni"},
		{"inactive pattern skipped", "claude-off-1", 3, "claude-*", "claude-off-1", "claude-off-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Select(s, Request{Caller: c, Model: tt.model, Format: llm.FormatOpenAI}, nil, OrderProvider)
			if err != nil {
				t.Fatal(err)
			}
			if p.Model.ID != tt.wantID || p.Model.Pattern != tt.wantPattern || p.Model.Name != tt.wantName {
				t.Fatalf("model = %d %q %q, want %d %q %q", p.Model.ID, p.Model.Pattern, p.Model.Name, tt.wantID, tt.wantPattern, tt.wantName)
			}
			if len(p.Candidates) == 0 || p.Candidates[0].UpstreamModel != tt.wantUpstream {
				t.Fatalf("candidates %+v, want upstream %q", p.Candidates, tt.wantUpstream)
			}
		})
	}
	if _, err := Select(s, Request{Caller: c, Model: "gpt-5", Format: llm.FormatOpenAI}, nil, OrderProvider); !errors.Is(err, llm.ErrModelUnknown) {
		t.Fatalf("unmatched name: %v", err)
	}
	// Patterns are not listed: the model list shows concrete names only.
	for _, m := range s.Models() {
		if llm.IsModelPattern(m.Name) {
			t.Fatalf("Models lists pattern %q", m.Name)
		}
	}
}

// TestInactiveExactRefusesPattern: a disabled exact model is not served
// by a pattern that also matches its name.
func TestInactiveExactRefusesPattern(t *testing.T) {
	s := snapshot(func(cs *store.ConfigSet) {
		patterns(cs)
		cs.Models[len(cs.Models)-2].Active = false // claude-exact
	})
	if _, err := Select(s, Request{Caller: caller(t, s), Model: "claude-exact", Format: llm.FormatOpenAI}, nil, OrderProvider); !errors.Is(err, llm.ErrModelUnknown) {
		t.Fatalf("err = %v, want unknown model", err)
	}
}

// TestPatternAllowLists: an allow-list entry allows the name it equals
// and, when it is a pattern, every name it matches; a concrete name is
// allowed when a pattern serves it.
func TestPatternAllowLists(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		model   string
		want    error
	}{
		{"pattern entry allows matched name", []string{"claude-*"}, "claude-opus-4-8", nil},
		{"pattern entry allows exact model", []string{"claude-*"}, "claude-exact", nil},
		{"concrete entry allows pattern-served name", []string{"claude-sonnet-4-5"}, "claude-sonnet-4-5", nil},
		{"concrete entry refuses other names", []string{"claude-sonnet-4-5"}, "claude-opus-4-8", llm.ErrForbidden},
		{"other pattern refuses", []string{"gpt-*"}, "claude-opus-4-8", llm.ErrForbidden},
		{"empty list refuses", []string{}, "claude-opus-4-8", llm.ErrForbidden},
	}
	for _, tt := range tests {
		for _, on := range []string{"key", "user"} {
			t.Run(tt.name+"/"+on, func(t *testing.T) {
				s := snapshot(func(cs *store.ConfigSet) {
					patterns(cs)
					if on == "key" {
						cs.APIKeys[0].AllowedModels = tt.allowed
					} else {
						cs.Users[0].AllowedModels = tt.allowed
					}
				})
				_, err := Select(s, Request{Caller: caller(t, s), Model: tt.model, Format: llm.FormatOpenAI}, nil, OrderProvider)
				if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			})
		}
	}
	// A provider key's allowed models match the same way.
	s := snapshot(func(cs *store.ConfigSet) {
		patterns(cs)
		for i := range cs.ProviderKeys {
			if cs.ProviderKeys[i].ProviderID == 2 {
				cs.ProviderKeys[i].AllowedModels = []string{"claude-son*"}
			}
		}
	})
	c := caller(t, s)
	for model, want := range map[string]int{"claude-sonnet-4-5": 2, "claude-haiku-4-5": 0} {
		p, err := Select(s, Request{Caller: c, Model: model, Format: llm.FormatOpenAI}, nil, OrderProvider)
		if err != nil || len(p.Candidates) != want {
			t.Fatalf("%s: %d candidates, err %v; want %d", model, len(p.Candidates), err, want)
		}
	}
}
