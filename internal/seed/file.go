// Package seed reads Aether's declarative configuration file (AETHER_CONFIG)
// and applies it to Postgres with idempotent upserts, so providers, keys,
// models, prices, users and gateway keys can live in git. Entries absent from
// the file are left alone: the file seeds, it does not own the database.
package seed

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"aether/internal/llm"
)

// File is the whole YAML document.
type File struct {
	Providers []Provider `yaml:"providers,omitzero" json:"providers,omitzero"`
	Models    []Model    `yaml:"models,omitzero" json:"models,omitzero"`
	Prices    []Price    `yaml:"prices,omitzero" json:"prices,omitzero"`
	Users     []User     `yaml:"users,omitzero" json:"users,omitzero"`
}

// Provider is an upstream vendor account with its endpoints and keys.
type Provider struct {
	ID        int64         `yaml:"-" json:"id,omitzero"`
	Name      string        `yaml:"name,omitzero" json:"name,omitzero"`
	Priority  *int          `yaml:"priority,omitzero" json:"priority,omitzero"`
	Active    *bool         `yaml:"active,omitzero" json:"active,omitzero"`
	Endpoints []Endpoint    `yaml:"endpoints,omitzero" json:"endpoints,omitzero"`
	Keys      []ProviderKey `yaml:"keys,omitzero" json:"keys,omitzero"`
}

// Endpoint is one API format of a provider.
type Endpoint struct {
	Name             string            `yaml:"name,omitzero" json:"name,omitzero"`
	Format           string            `yaml:"format,omitzero" json:"format,omitzero"`
	BaseURL          string            `yaml:"base_url,omitzero" json:"base_url,omitzero"`
	Timeout          Duration          `yaml:"timeout,omitzero" json:"timeout,omitzero"`
	FirstByteTimeout Duration          `yaml:"first_byte_timeout,omitzero" json:"first_byte_timeout,omitzero"`
	Headers          map[string]string `yaml:"headers,omitzero" json:"headers,omitzero"`
	Active           *bool             `yaml:"active,omitzero" json:"active,omitzero"`
}

// ProviderKey is an upstream credential. Secret may be a ${ENV_VAR}
// reference, and should be.
type ProviderKey struct {
	ID             int64     `yaml:"-" json:"id,omitzero"`
	Preview        string    `yaml:"-" json:"secret_preview,omitzero"`
	Name           string    `yaml:"name,omitzero" json:"name,omitzero"`
	Secret         string    `yaml:"secret,omitzero" json:"secret,omitzero"`
	Priority       *int      `yaml:"priority,omitzero" json:"priority,omitzero"`
	GlobalPriority *int      `yaml:"global_priority,omitzero" json:"global_priority,omitzero"`
	RateMultiplier *Decimal  `yaml:"rate_multiplier,omitzero" json:"rate_multiplier,omitzero"`
	FreeTier       bool      `yaml:"free_tier,omitzero" json:"free_tier,omitzero"`
	AllowedModels  AllowList `yaml:"allowed_models,omitzero" json:"allowed_models,omitzero"`
	MaxConcurrent  *int      `yaml:"max_concurrent,omitzero" json:"max_concurrent,omitzero"`
	Active         *bool     `yaml:"active,omitzero" json:"active,omitzero"`
}

// Model is a public model name and the providers serving it.
type Model struct {
	Name    string   `yaml:"name,omitzero" json:"name,omitzero"`
	Aliases []string `yaml:"aliases,omitzero" json:"aliases,omitzero"`
	Active  *bool    `yaml:"active,omitzero" json:"active,omitzero"`
	Routes  []Route  `yaml:"routes,omitzero" json:"routes,omitzero"`
}

// Route maps a model to a provider's own name for it (default: the same).
type Route struct {
	Provider      string `yaml:"provider,omitzero" json:"provider,omitzero"`
	UpstreamModel string `yaml:"upstream_model,omitzero" json:"upstream_model,omitzero"`
}

// Price is USD per million tokens, per request in USD.
type Price struct {
	Model        string       `yaml:"model,omitzero" json:"model,omitzero"`
	Provider     string       `yaml:"provider,omitzero" json:"provider,omitzero"`
	Input        Decimal      `yaml:"input,omitzero" json:"input,omitzero"`
	Output       Decimal      `yaml:"output,omitzero" json:"output,omitzero"`
	CacheRead    *Decimal     `yaml:"cache_read,omitzero" json:"cache_read,omitzero"`
	CacheWrite5m *Decimal     `yaml:"cache_write_5m,omitzero" json:"cache_write_5m,omitzero"`
	CacheWrite1h *Decimal     `yaml:"cache_write_1h,omitzero" json:"cache_write_1h,omitzero"`
	LongContext  *LongContext `yaml:"long_context,omitzero" json:"long_context,omitzero"`
	PerRequest   Decimal      `yaml:"per_request,omitzero" json:"per_request,omitzero"`
	Source       string       `yaml:"source,omitzero" json:"source,omitzero"`
}

// LongContext prices apply to the whole request once its prompt exceeds
// Threshold tokens.
type LongContext struct {
	Threshold    int64    `yaml:"threshold,omitzero" json:"threshold,omitzero"`
	Input        *Decimal `yaml:"input,omitzero" json:"input,omitzero"`
	Output       *Decimal `yaml:"output,omitzero" json:"output,omitzero"`
	CacheRead    *Decimal `yaml:"cache_read,omitzero" json:"cache_read,omitzero"`
	CacheWrite5m *Decimal `yaml:"cache_write_5m,omitzero" json:"cache_write_5m,omitzero"`
	CacheWrite1h *Decimal `yaml:"cache_write_1h,omitzero" json:"cache_write_1h,omitzero"`
}

// User owns gateway keys.
type User struct {
	ID               int64        `yaml:"-" json:"id,omitzero"`
	SpendUSD         string       `yaml:"-" json:"spend_usd,omitzero"`
	Name             string       `yaml:"name,omitzero" json:"name,omitzero"`
	Email            string       `yaml:"email,omitzero" json:"email,omitzero"`
	Active           *bool        `yaml:"active,omitzero" json:"active,omitzero"`
	AllowedModels    AllowList    `yaml:"allowed_models,omitzero" json:"allowed_models,omitzero"`
	AllowedProviders AllowList    `yaml:"allowed_providers,omitzero" json:"allowed_providers,omitzero"`
	BudgetUSD        *Decimal     `yaml:"budget_usd,omitzero" json:"budget_usd,omitzero"`
	BudgetPeriod     string       `yaml:"budget_period,omitzero" json:"budget_period,omitzero"`
	RPMLimit         *int         `yaml:"rpm_limit,omitzero" json:"rpm_limit,omitzero"`
	Keys             []GatewayKey `yaml:"keys,omitzero" json:"keys,omitzero"`
}

// GatewayKey is a key callers present to Aether. Key may be a ${ENV_VAR}
// reference; only its SHA-256 is stored.
type GatewayKey struct {
	ID               int64      `yaml:"-" json:"id,omitzero"`
	User             string     `yaml:"-" json:"user,omitzero"`
	Prefix           string     `yaml:"-" json:"prefix,omitzero"`
	SpendUSD         string     `yaml:"-" json:"spend_usd,omitzero"`
	Name             string     `yaml:"name,omitzero" json:"name,omitzero"`
	Key              string     `yaml:"key,omitzero" json:"key,omitzero"`
	Active           *bool      `yaml:"active,omitzero" json:"active,omitzero"`
	ExpiresAt        *time.Time `yaml:"expires_at,omitzero" json:"expires_at,omitzero"`
	AllowedModels    AllowList  `yaml:"allowed_models,omitzero" json:"allowed_models,omitzero"`
	AllowedProviders AllowList  `yaml:"allowed_providers,omitzero" json:"allowed_providers,omitzero"`
	AllowedFormats   AllowList  `yaml:"allowed_formats,omitzero" json:"allowed_formats,omitzero"`
	BudgetUSD        *Decimal   `yaml:"budget_usd,omitzero" json:"budget_usd,omitzero"`
	BudgetPeriod     string     `yaml:"budget_period,omitzero" json:"budget_period,omitzero"`
	RPMLimit         *int       `yaml:"rpm_limit,omitzero" json:"rpm_limit,omitzero"`
}

// AllowList restricts what a key or user may use. Absent (nil) allows
// everything; an empty list allows nothing. The two must survive every
// round trip (YAML, JSON, export), so only nil is omitted.
type AllowList []string

// IsZero reports whether the list is absent (not merely empty).
func (l AllowList) IsZero() bool { return l == nil }

// Decimal is an exact six-place decimal written as a YAML number or string.
// It is decoded from the source text, never through a float.
type Decimal struct {
	llm.Micros
	// invalid holds JSON text that is not an exact decimal; the validator
	// reports it with the field's path (encoding/json cannot name it).
	invalid string
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Decimal) UnmarshalYAML(node ast.Node) error {
	s := scalarText(node)
	m, err := llm.ParseMicros(s)
	if err != nil {
		return atNode(node, fmt.Errorf("%q is %w", s, err))
	}
	d.Micros = m
	return nil
}

// MarshalYAML writes the decimal as a plain number.
func (d Decimal) MarshalYAML() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes the decimal as a plain JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads a JSON number or string without going through a
// float. Invalid text is kept for Validate to report with its field name.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	m, err := llm.ParseMicros(s)
	if err != nil {
		d.invalid = s
		return nil
	}
	d.Micros = m
	return nil
}

// Duration is a Go duration string such as "300s" or "2m".
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	s := scalarText(node)
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return atNode(node, fmt.Errorf("%q is not a positive duration such as 30s", s))
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes the duration as a string such as "30s".
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads a duration string such as "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("%q is not a positive duration such as 30s", s)
	}
	d.Duration = v
	return nil
}

// IsZero lets omitempty drop an unset duration.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// posError carries the position of a value a custom decoder refused, so
// Parse can name the line like the YAML library's own errors.
type posError struct {
	line, col int
	err       error
}

func (e *posError) Error() string { return e.err.Error() }

func atNode(node ast.Node, err error) error {
	if tok := node.GetToken(); tok != nil {
		return &posError{line: tok.Position.Line, col: tok.Position.Column, err: err}
	}
	return err
}

// scalarText is the source text of a scalar without quotes.
func scalarText(node ast.Node) string {
	if tok := node.GetToken(); tok != nil {
		return strings.TrimSpace(tok.Value)
	}
	return strings.Trim(strings.TrimSpace(node.String()), `"'`)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} with values from getenv. An
// unset variable without a default is an error naming it.
func expand(s string, getenv func(string) string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v := getenv(m[1]); v != "" {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		if missing == "" {
			missing = m[1]
		}
		return ""
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set", missing)
	}
	return out, nil
}
