package seed

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"aether/internal/llm"
	"aether/internal/store"
)

// Mode says how FromConfig renders secrets.
type Mode int

const (
	// View omits secrets and adds IDs, previews and spend (admin API).
	View Mode = iota
	// Export writes every secret as a ${ENV} placeholder, so the file can
	// live in git and be applied again with the secrets in the environment.
	Export
)

var envUnsafe = regexp.MustCompile(`[^A-Z0-9]+`)

// envName builds a placeholder variable name from parts.
func envName(parts ...string) string {
	return strings.Trim(envUnsafe.ReplaceAllString(strings.ToUpper(strings.Join(parts, "_")), "_"), "_")
}

func intPtr(v int) *int    { return &v }
func boolPtr(v bool) *bool { return &v }

func dec(m *llm.Micros) *Decimal {
	if m == nil {
		return nil
	}
	return &Decimal{Micros: *m}
}

func allow(l []string) AllowList {
	if l == nil {
		return nil
	}
	return append(AllowList{}, l...)
}

// FromConfig renders the database configuration as a File: the same shape
// the YAML file and the admin API use.
func FromConfig(cs *store.ConfigSet, mode Mode) *File {
	f := &File{}
	providerName := map[int64]string{}
	for _, p := range cs.Providers {
		providerName[p.ID] = p.Name
	}
	modelName := map[int64]string{}
	for _, m := range cs.Models {
		modelName[m.ID] = m.Name
	}
	userName := map[int64]string{}
	for _, u := range cs.Users {
		userName[u.ID] = u.Name
	}
	for _, p := range cs.Providers {
		out := Provider{Name: p.Name, Priority: intPtr(p.Priority), Active: boolPtr(p.Active)}
		if mode == View {
			out.ID = p.ID
		}
		for _, e := range cs.Endpoints {
			if e.ProviderID != p.ID {
				continue
			}
			ep := Endpoint{Name: e.Name, Format: string(e.Format), BaseURL: e.BaseURL, Timeout: Duration{e.Timeout},
				FirstByteTimeout: Duration{e.FirstByteTimeout}, Active: boolPtr(e.Active)}
			if len(e.Headers) > 0 {
				ep.Headers = map[string]string{}
				for h := range e.Headers {
					// Header values may be credentials: never shown, exported
					// as placeholders.
					ep.Headers[h] = "${" + envName("AETHER_HEADER", p.Name, e.Name, h) + "}"
				}
			}
			out.Endpoints = append(out.Endpoints, ep)
		}
		for _, k := range cs.ProviderKeys {
			if k.ProviderID != p.ID {
				continue
			}
			key := ProviderKey{Name: k.Name, Priority: intPtr(k.Priority), GlobalPriority: k.GlobalPriority,
				FreeTier: k.FreeTier, AllowedModels: allow(k.AllowedModels), MaxConcurrent: k.MaxConcurrent, Active: boolPtr(k.Active)}
			if k.RateMultiplier != 1_000_000 {
				key.RateMultiplier = &Decimal{Micros: k.RateMultiplier}
			}
			switch mode {
			case View:
				key.ID, key.Preview = k.ID, k.Preview
			case Export:
				key.Secret = "${" + envName("AETHER_SECRET", p.Name, k.Name) + "}"
			}
			out.Keys = append(out.Keys, key)
		}
		f.Providers = append(f.Providers, out)
	}
	routes := map[int64][]Route{}
	for _, r := range cs.Routes {
		routes[r.ModelID] = append(routes[r.ModelID], Route{Provider: providerName[r.ProviderID], UpstreamModel: r.UpstreamModel})
	}
	for _, m := range cs.Models {
		out := Model{Name: m.Name, Active: boolPtr(m.Active), Routes: routes[m.ID]}
		if len(m.Aliases) > 0 {
			out.Aliases = m.Aliases
		}
		f.Models = append(f.Models, out)
	}
	for _, p := range cs.Prices {
		out := Price{Model: modelName[p.ModelID], Input: Decimal{Micros: p.Input}, Output: Decimal{Micros: p.Output},
			CacheRead: dec(p.CacheRead), CacheWrite5m: dec(p.CacheWrite5m), CacheWrite1h: dec(p.CacheWrite1h),
			PerRequest: Decimal{Micros: p.PerRequest}, Source: p.Source}
		if p.ProviderID != nil {
			out.Provider = providerName[*p.ProviderID]
		}
		if p.LongThreshold != nil {
			out.LongContext = &LongContext{Threshold: *p.LongThreshold, Input: dec(p.LongInput), Output: dec(p.LongOutput),
				CacheRead: dec(p.LongCacheRead), CacheWrite5m: dec(p.LongCacheWrite5m), CacheWrite1h: dec(p.LongCacheWrite1h)}
		}
		f.Prices = append(f.Prices, out)
	}
	sort.SliceStable(f.Prices, func(i, j int) bool { return f.Prices[i].Model < f.Prices[j].Model })
	for _, u := range cs.Users {
		out := User{Name: u.Name, Email: u.Email, Active: boolPtr(u.Active), AllowedModels: allow(u.AllowedModels),
			AllowedProviders: allow(u.AllowedProviders), BudgetUSD: dec(u.BudgetUSD), RPMLimit: u.RPMLimit}
		if u.BudgetPeriod != "none" {
			out.BudgetPeriod = u.BudgetPeriod
		}
		if mode == View {
			out.ID, out.SpendUSD = u.ID, u.Spend.String()
		}
		for _, k := range cs.APIKeys {
			if k.UserID == u.ID {
				out.Keys = append(out.Keys, gatewayKey(k, userName[k.UserID], mode))
			}
		}
		f.Users = append(f.Users, out)
	}
	return f
}

func gatewayKey(k store.APIKey, user string, mode Mode) GatewayKey {
	out := GatewayKey{Name: k.Name, Active: boolPtr(k.Active), ExpiresAt: k.ExpiresAt, AllowedModels: allow(k.AllowedModels),
		AllowedProviders: allow(k.AllowedProviders), AllowedFormats: allow(k.AllowedFormats), BudgetUSD: dec(k.BudgetUSD), RPMLimit: k.RPMLimit}
	if k.BudgetPeriod != "none" {
		out.BudgetPeriod = k.BudgetPeriod
	}
	switch mode {
	case View:
		out.ID, out.User, out.Prefix, out.SpendUSD = k.ID, user, k.Prefix, k.Spend.String()
	case Export:
		// Only the key's hash is stored: the placeholder must be filled with
		// the key itself to keep it working after a re-apply.
		out.Key = "${" + envName("AETHER_KEY", k.Name) + "}"
	}
	return out
}

// MarshalYAML renders a File as the YAML AETHER_CONFIG accepts.
func MarshalYAML(f *File) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Aether configuration exported " + time.Now().UTC().Format(time.RFC3339) + ".\n")
	b.WriteString("# Secrets are ${ENV} placeholders: set them in the environment before applying this file.\n")
	out, err := yaml.MarshalWithOptions(f, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, err
	}
	b.Write(out)
	return b.Bytes(), nil
}
