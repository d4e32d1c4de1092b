package routing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/store"
	"aether/internal/translate"
)

type fakeHealth map[int64]bool

func (f fakeHealth) Open(id int64, _ time.Time) bool { return f[id] }

func ptr[T any](v T) *T { return &v }

// snapshot builds a catalog with providers a (priority 1) and b (priority
// 2), each with two keys, both serving model "m" in the openai format.
func snapshot(mutate func(cs *store.ConfigSet)) *catalog.Snapshot {
	cs := &store.ConfigSet{
		Providers: []store.Provider{{ID: 1, Name: "a", Priority: 1, Active: true}, {ID: 2, Name: "b", Priority: 2, Active: true}},
		Endpoints: []store.Endpoint{
			{ID: 10, ProviderID: 1, Format: llm.FormatOpenAI, Active: true},
			{ID: 20, ProviderID: 2, Format: llm.FormatOpenAI, Active: true},
			{ID: 21, ProviderID: 2, Format: llm.FormatAnthropic, Active: true},
		},
		ProviderKeys: []store.ProviderKey{
			{ID: 101, ProviderID: 1, Name: "a1", Priority: 2, Active: true, GlobalPriority: ptr(4)},
			{ID: 102, ProviderID: 1, Name: "a2", Priority: 1, Active: true, GlobalPriority: ptr(3)},
			{ID: 201, ProviderID: 2, Name: "b1", Priority: 1, Active: true, GlobalPriority: ptr(1)},
			{ID: 202, ProviderID: 2, Name: "b2", Priority: 1, Active: true},
		},
		Models:  []store.Model{{ID: 1, Name: "m", Aliases: []string{"m-alias"}, Active: true}},
		Routes:  []store.ModelRoute{{ModelID: 1, ProviderID: 1, UpstreamModel: "m-a", Active: true}, {ModelID: 1, ProviderID: 2, UpstreamModel: "m-b", Active: true}},
		Users:   []store.User{{ID: 1, Name: "u", Active: true}},
		APIKeys: []store.APIKey{{ID: 7, UserID: 1, Name: "k", Active: true, Hash: store.HashKey("key-7")}},
	}
	if mutate != nil {
		mutate(cs)
	}
	return catalog.Build(cs)
}

func caller(t *testing.T, s *catalog.Snapshot) *catalog.Caller {
	t.Helper()
	c, err := s.Authenticate("key-7", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func keys(cs []llm.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.KeyName)
	}
	return out
}

func TestSelectOrders(t *testing.T) {
	s := snapshot(nil)
	c := caller(t, s)
	tests := []struct {
		name  string
		order Order
		want  string
	}{
		// Provider a first; within a, key priority (a2=1 before a1=2); within b,
		// b1 and b2 tie and are ordered by the stable hash.
		{"provider", OrderProvider, "[a2 a1 " + tieOrder(7, 201, 202, "b1", "b2") + "]"},
		// Global: b1(1), a2(3), a1(4), b2(unset, last).
		{"global", OrderGlobal, "[b1 a2 a1 b2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Select(s, Request{Caller: c, Model: "m", Format: llm.FormatOpenAI}, nil, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(keys(p.Candidates)); got != tt.want {
				t.Fatalf("order %s, want %s", got, tt.want)
			}
			for i, cand := range p.Candidates {
				if cand.Index != i {
					t.Fatalf("candidate %d has index %d", i, cand.Index)
				}
			}
			if p.Candidates[0].UpstreamModel != map[string]string{"a2": "m-a", "b1": "m-b"}[p.Candidates[0].KeyName] {
				t.Fatalf("upstream model %q", p.Candidates[0].UpstreamModel)
			}
		})
	}
}

func tieOrder(gw, k1, k2 int64, n1, n2 string) string {
	if spread(gw, k1) < spread(gw, k2) {
		return n1 + " " + n2
	}
	return n2 + " " + n1
}

// TestSpreadIsStableAndBalanced: one caller always gets the same order;
// across many callers equal-priority keys lead about equally often.
func TestSpreadIsStableAndBalanced(t *testing.T) {
	first := map[int64]int{}
	// Pinned: every replica, of every version, must order a caller's keys
	// the same way, or callers would hop between keys (and prompt caches).
	if got := spread(7, 201); got != 0x70a89ff545fc3f0b {
		t.Fatalf("spread(7, 201) = %#x: the hash changed", got)
	}
	for gw := int64(1); gw <= 10000; gw++ {
		if spread(gw, 201) < spread(gw, 202) {
			first[201]++
		} else {
			first[202]++
		}
	}
	if first[201] < 4500 || first[202] < 4500 {
		t.Fatalf("unbalanced spread: %v", first)
	}
}

func TestSelectSkips(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*store.ConfigSet)
		health  fakeHealth
		format  llm.Format
		skipped map[string]string
	}{
		{"breaker open", nil, fakeHealth{102: true}, llm.FormatOpenAI, map[string]string{"a2": SkipBreakerOpen}},
		{"inactive key", func(cs *store.ConfigSet) { cs.ProviderKeys[0].Active = false }, nil, llm.FormatOpenAI, map[string]string{"a1": SkipKeyInactive}},
		{"inactive provider", func(cs *store.ConfigSet) { cs.Providers[1].Active = false }, nil, llm.FormatOpenAI, map[string]string{"b1": SkipProviderInactive, "b2": SkipProviderInactive}},
		{"model not allowed on key", func(cs *store.ConfigSet) { cs.ProviderKeys[2].AllowedModels = []string{"other"} }, nil, llm.FormatOpenAI, map[string]string{"b1": SkipModelNotAllowed}},
		{"no endpoint", func(cs *store.ConfigSet) { cs.Endpoints = cs.Endpoints[1:] }, nil, llm.FormatAnthropic, map[string]string{"a1": SkipFormatMismatch, "a2": SkipFormatMismatch}},
		{"restricted provider", func(cs *store.ConfigSet) { cs.APIKeys[0].AllowedProviders = []string{"b"} }, nil, llm.FormatOpenAI, map[string]string{"a1": SkipRestricted, "a2": SkipRestricted}},
		{"inactive endpoint", func(cs *store.ConfigSet) { cs.Endpoints[0].Active = false }, nil, llm.FormatOpenAI, map[string]string{"a1": SkipEndpointInactive, "a2": SkipEndpointInactive}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot(tt.mutate)
			p, err := Select(s, Request{Caller: caller(t, s), Model: "m", Format: tt.format}, tt.health, OrderProvider)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range p.Skipped {
				got[c.KeyName] = c.SkippedReason
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.skipped) {
				t.Fatalf("skipped %v, want %v", got, tt.skipped)
			}
			if len(p.Candidates)+len(p.Skipped) != 4 {
				t.Fatalf("%d candidates + %d skipped", len(p.Candidates), len(p.Skipped))
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*store.ConfigSet)
		model  string
		want   error
	}{
		{"unknown model", nil, "nope", llm.ErrModelUnknown},
		{"alias resolves", nil, "m-alias", nil},
		{"key may not use model", func(cs *store.ConfigSet) { cs.APIKeys[0].AllowedModels = []string{"x"} }, "m", llm.ErrForbidden},
		{"user may not use model", func(cs *store.ConfigSet) { cs.Users[0].AllowedModels = []string{} }, "m", llm.ErrForbidden},
		{"format not allowed", func(cs *store.ConfigSet) { cs.APIKeys[0].AllowedFormats = []string{"gemini"} }, "m", llm.ErrForbidden},
		{"every provider restricted", func(cs *store.ConfigSet) { cs.Users[0].AllowedProviders = []string{"zzz"} }, "m", llm.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot(tt.mutate)
			_, err := Select(s, Request{Caller: caller(t, s), Model: tt.model, Format: llm.FormatOpenAI}, nil, OrderProvider)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAffinity(t *testing.T) {
	s := snapshot(nil)
	c := caller(t, s)
	a := NewAffinity(time.Minute)
	now := time.Now()
	a.Succeeded(7, 1, 201, now)
	p, _ := Select(s, Request{Caller: c, Model: "m", Format: llm.FormatOpenAI, AffinityKeyID: a.Get(7, 1, now)}, nil, OrderProvider)
	if p.Candidates[0].KeyName != "b1" || !p.Candidates[0].AffinityHit {
		t.Fatalf("affinity not honoured: %v", keys(p.Candidates))
	}
	if a.Get(7, 1, now.Add(2*time.Minute)) != 0 {
		t.Fatal("affinity outlived its TTL")
	}
	a.Failed(7, 1, 201)
	if a.Get(7, 1, now) != 0 {
		t.Fatal("a failure did not drop the affinity")
	}
}

// BenchmarkSelect50 measures selection over 50 candidates (5 providers × 10
// keys), the case issue 3 bounds at 20 µs.
func BenchmarkSelect50(b *testing.B) {
	cs := &store.ConfigSet{
		Models:  []store.Model{{ID: 1, Name: "m", Active: true}},
		Users:   []store.User{{ID: 1, Name: "u", Active: true}},
		APIKeys: []store.APIKey{{ID: 7, UserID: 1, Name: "k", Active: true, Hash: store.HashKey("key-7")}},
	}
	for p := int64(1); p <= 5; p++ {
		cs.Providers = append(cs.Providers, store.Provider{ID: p, Name: fmt.Sprint("p", p), Priority: int(p % 3), Active: true})
		cs.Endpoints = append(cs.Endpoints, store.Endpoint{ID: p, ProviderID: p, Format: llm.FormatOpenAI, Active: true})
		cs.Routes = append(cs.Routes, store.ModelRoute{ModelID: 1, ProviderID: p, UpstreamModel: "m", Active: true})
		for k := int64(0); k < 10; k++ {
			cs.ProviderKeys = append(cs.ProviderKeys, store.ProviderKey{ID: p*100 + k, ProviderID: p, Name: "k", Priority: int(k % 2), Active: true})
		}
	}
	s := catalog.Build(cs)
	c, _ := s.Authenticate("key-7", time.Now())
	h := fakeHealth{101: true, 303: true}
	req := Request{Caller: c, Model: "m", Format: llm.FormatOpenAI, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		p, err := Select(s, req, h, OrderProvider)
		if err != nil || len(p.Candidates) != 48 {
			b.Fatal(err, len(p.Candidates))
		}
	}
}

// TestAffinityOff: a zero TTL (AETHER_AFFINITY_TTL=0) turns affinity off,
// even for a request that started before another one succeeded.
func TestAffinityOff(t *testing.T) {
	a := NewAffinity(0)
	now := time.Now()
	a.Succeeded(7, 1, 201, now)
	if got := a.Get(7, 1, now.Add(-time.Millisecond)); got != 0 {
		t.Fatalf("affinity off, yet Get = %d", got)
	}
}

func TestSelectTranslates(t *testing.T) {
	tests := []struct {
		name   string
		format llm.Format
		api    translate.API
		want   map[string]string // key name → upstream API ("" passthrough)
	}{
		{"anthropic client: b passes through, a is translated to chat", llm.FormatAnthropic, "", map[string]string{"a1": "openai-chat", "a2": "openai-chat", "b1": "", "b2": ""}},
		{"responses client passes through on openai endpoints", llm.FormatOpenAI, translate.OpenAIResponses, map[string]string{"a1": "", "a2": "", "b1": "", "b2": ""}},
		{"gemini client is translated everywhere, openai first", llm.FormatGemini, "", map[string]string{"a1": "openai-chat", "a2": "openai-chat", "b1": "openai-chat", "b2": "openai-chat"}},
		{"responses client on an openai-chat endpoint is translated", llm.FormatOpenAI, translate.OpenAIResponses, map[string]string{"a1": "openai-chat", "a2": "openai-chat", "b1": "", "b2": ""}},
		{"chat client on an openai-chat endpoint passes through", llm.FormatOpenAI, translate.OpenAIChat, map[string]string{"a1": "", "a2": "", "b1": "", "b2": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot(func(cs *store.ConfigSet) {
				if strings.Contains(tt.name, "openai-chat endpoint") {
					cs.Endpoints[0].Format = llm.FormatOpenAIChat
				}
			})
			p, err := Select(s, Request{Caller: caller(t, s), Model: "m", Format: tt.format, API: tt.api}, nil, OrderProvider)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range p.Candidates {
				got[c.KeyName] = c.UpstreamAPI
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(p.Skipped) != 0 {
				t.Fatalf("upstream APIs %v (skipped %v), want %v", got, p.Skipped, tt.want)
			}
		})
	}
}

func TestCheckEndpoints(t *testing.T) {
	all := translate.Supported
	noChatToGemini := func(c, u translate.API) bool {
		return all(c, u) && !(c == translate.OpenAIChat && u == translate.Gemini)
	}
	tests := []struct {
		name      string
		formats   []llm.Format
		supported func(c, u translate.API) bool
		wantErr   string
	}{
		{"every built pair", []llm.Format{llm.FormatGemini}, all, ""},
		{"no endpoints", nil, all, ""},
		{"pair not built", []llm.Format{llm.FormatGemini}, noChatToGemini, "a openai-chat client cannot be served"},
		{"another endpoint serves it", []llm.Format{llm.FormatGemini, llm.FormatAnthropic}, noChatToGemini, ""},
		{"openai-chat serves chat clients without a pair", []llm.Format{llm.FormatOpenAIChat}, func(c, u translate.API) bool { return c != translate.OpenAIChat && u == translate.OpenAIChat }, ""},
		{"openai-chat needs a pair for responses", []llm.Format{llm.FormatOpenAIChat}, func(c, u translate.API) bool { return c != translate.OpenAIResponses && all(c, u) }, "a openai-responses client"},
		{"own format needs no pair", []llm.Format{llm.FormatOpenAI, llm.FormatAnthropic, llm.FormatGemini}, func(c, u translate.API) bool { return false }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEndpoints(tt.formats, tt.supported)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
	if err := CheckEndpoints([]llm.Format{llm.FormatAnthropic}); err != nil {
		t.Fatal(err)
	}
}
