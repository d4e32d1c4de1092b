package store

import (
	"time"

	"aether/internal/llm"
)

// Provider is an upstream LLM vendor account (OpenAI, a proxy, a self-hosted
// server): the unit of priority and of routing restrictions.
type Provider struct {
	ID       int64
	Name     string
	Priority int
	Active   bool
}

// Endpoint is where and how a provider is reached for one API format.
type Endpoint struct {
	ID               int64
	ProviderID       int64
	Name             string
	Format           llm.Format
	BaseURL          string
	Timeout          time.Duration
	FirstByteTimeout time.Duration // zero: the gateway default
	Headers          map[string]string
	Active           bool
}

// ProviderKey is one upstream credential. Secret is plaintext in memory
// only; the table holds it sealed.
type ProviderKey struct {
	ID             int64
	ProviderID     int64
	Name           string
	Secret         string
	Preview        string
	Priority       int
	GlobalPriority *int
	RateMultiplier llm.Micros
	FreeTier       bool
	AllowedModels  []string // nil: every model
	MaxConcurrent  *int
	Active         bool
}

// Model is a public model name clients ask for, with its aliases.
type Model struct {
	ID      int64
	Name    string
	Aliases []string
	Active  bool
}

// ModelRoute says that a provider serves a model under an upstream name.
type ModelRoute struct {
	ModelID       int64
	ProviderID    int64
	UpstreamModel string
	Active        bool
}

// Price is what a model costs, in USD per million tokens, optionally
// overridden for one provider.
type Price struct {
	ID               int64
	ModelID          int64
	ProviderID       *int64
	Input            llm.Micros
	Output           llm.Micros
	CacheRead        *llm.Micros
	CacheWrite5m     *llm.Micros
	CacheWrite1h     *llm.Micros
	LongThreshold    *int64
	LongInput        *llm.Micros
	LongOutput       *llm.Micros
	LongCacheRead    *llm.Micros
	LongCacheWrite5m *llm.Micros
	LongCacheWrite1h *llm.Micros
	PerRequest       llm.Micros
	Source           string
}

// User owns gateway keys; restrictions and budgets apply to all of them.
type User struct {
	ID               int64
	Name             string
	Email            string
	Active           bool
	AllowedModels    []string
	AllowedProviders []string
	BudgetUSD        *llm.Micros
	BudgetPeriod     string
	RPMLimit         *int
	Spend            llm.PicoUSD // read-only: moved by accounting
}

// APIKey is a gateway key. Only its SHA-256 and a display prefix exist.
type APIKey struct {
	ID               int64
	UserID           int64
	Name             string
	Hash             [32]byte
	Prefix           string
	Active           bool
	ExpiresAt        *time.Time
	AllowedModels    []string
	AllowedProviders []string
	AllowedFormats   []string
	BudgetUSD        *llm.Micros
	BudgetPeriod     string
	RPMLimit         *int
	Spend            llm.PicoUSD // read-only: moved by accounting
}
