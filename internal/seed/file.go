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

	"aether/internal/core"
)

// File is the whole YAML document.
type File struct {
	Providers []Provider `yaml:"providers"`
	Models    []Model    `yaml:"models"`
	Prices    []Price    `yaml:"prices"`
	Users     []User     `yaml:"users"`
}

// Provider is an upstream vendor account with its endpoints and keys.
type Provider struct {
	Name      string        `yaml:"name"`
	Priority  *int          `yaml:"priority"`
	Active    *bool         `yaml:"active"`
	Endpoints []Endpoint    `yaml:"endpoints"`
	Keys      []ProviderKey `yaml:"keys"`
}

// Endpoint is one API format of a provider.
type Endpoint struct {
	Name             string            `yaml:"name"`
	Format           string            `yaml:"format"`
	BaseURL          string            `yaml:"base_url"`
	Timeout          Duration          `yaml:"timeout"`
	FirstByteTimeout Duration          `yaml:"first_byte_timeout"`
	Headers          map[string]string `yaml:"headers"`
	Active           *bool             `yaml:"active"`
}

// ProviderKey is an upstream credential. Secret may be a ${ENV_VAR}
// reference, and should be.
type ProviderKey struct {
	Name           string   `yaml:"name"`
	Secret         string   `yaml:"secret"`
	Priority       *int     `yaml:"priority"`
	GlobalPriority *int     `yaml:"global_priority"`
	RateMultiplier *Decimal `yaml:"rate_multiplier"`
	FreeTier       bool     `yaml:"free_tier"`
	AllowedModels  []string `yaml:"allowed_models"`
	MaxConcurrent  *int     `yaml:"max_concurrent"`
	Active         *bool    `yaml:"active"`
}

// Model is a public model name and the providers serving it.
type Model struct {
	Name    string   `yaml:"name"`
	Aliases []string `yaml:"aliases"`
	Active  *bool    `yaml:"active"`
	Routes  []Route  `yaml:"routes"`
}

// Route maps a model to a provider's own name for it (default: the same).
type Route struct {
	Provider      string `yaml:"provider"`
	UpstreamModel string `yaml:"upstream_model"`
}

// Price is USD per million tokens, per request in USD.
type Price struct {
	Model        string       `yaml:"model"`
	Provider     string       `yaml:"provider"`
	Input        Decimal      `yaml:"input"`
	Output       Decimal      `yaml:"output"`
	CacheRead    *Decimal     `yaml:"cache_read"`
	CacheWrite5m *Decimal     `yaml:"cache_write_5m"`
	CacheWrite1h *Decimal     `yaml:"cache_write_1h"`
	LongContext  *LongContext `yaml:"long_context"`
	PerRequest   Decimal      `yaml:"per_request"`
	Source       string       `yaml:"source"`
}

// LongContext prices apply to the whole request once its prompt exceeds
// Threshold tokens.
type LongContext struct {
	Threshold    int64    `yaml:"threshold"`
	Input        *Decimal `yaml:"input"`
	Output       *Decimal `yaml:"output"`
	CacheRead    *Decimal `yaml:"cache_read"`
	CacheWrite5m *Decimal `yaml:"cache_write_5m"`
	CacheWrite1h *Decimal `yaml:"cache_write_1h"`
}

// User owns gateway keys.
type User struct {
	Name             string       `yaml:"name"`
	Email            string       `yaml:"email"`
	Active           *bool        `yaml:"active"`
	AllowedModels    []string     `yaml:"allowed_models"`
	AllowedProviders []string     `yaml:"allowed_providers"`
	BudgetUSD        *Decimal     `yaml:"budget_usd"`
	BudgetPeriod     string       `yaml:"budget_period"`
	RPMLimit         *int         `yaml:"rpm_limit"`
	Keys             []GatewayKey `yaml:"keys"`
}

// GatewayKey is a key callers present to Aether. Key may be a ${ENV_VAR}
// reference; only its SHA-256 is stored.
type GatewayKey struct {
	Name             string     `yaml:"name"`
	Key              string     `yaml:"key"`
	Active           *bool      `yaml:"active"`
	ExpiresAt        *time.Time `yaml:"expires_at"`
	AllowedModels    []string   `yaml:"allowed_models"`
	AllowedProviders []string   `yaml:"allowed_providers"`
	AllowedFormats   []string   `yaml:"allowed_formats"`
	BudgetUSD        *Decimal   `yaml:"budget_usd"`
	BudgetPeriod     string     `yaml:"budget_period"`
	RPMLimit         *int       `yaml:"rpm_limit"`
}

// Decimal is an exact six-place decimal written as a YAML number or string.
// It is decoded from the source text, never through a float.
type Decimal struct{ core.Micros }

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Decimal) UnmarshalYAML(node ast.Node) error {
	s := scalarText(node)
	m, err := core.ParseMicros(s)
	if err != nil {
		return atNode(node, fmt.Errorf("%q is %w", s, err))
	}
	d.Micros = m
	return nil
}

// MarshalYAML writes the decimal as a plain number.
func (d Decimal) MarshalYAML() ([]byte, error) { return []byte(d.String()), nil }

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
