package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"aether/internal/llm"
)

// defaultPrices is Aether's embedded price table, in the format of the
// widely used model_prices_and_context_window.json (LiteLLM). Source and
// date: see the "_source" entry in the file.
//
//go:embed default_prices.json
var defaultPrices []byte

// Table maps model names to prices.
type Table map[string]Price

// Defaults returns the embedded table.
func Defaults() Table {
	t, err := ParseLiteLLM(defaultPrices)
	if err != nil {
		panic("pricing: embedded table is invalid: " + err.Error())
	}
	return t
}

// Lookup finds a price by any of the names given, trying each as written
// and without a "provider/" prefix.
func (t Table) Lookup(names ...string) (Price, bool) {
	for _, n := range names {
		if n == "" {
			continue
		}
		if p, ok := t[n]; ok {
			return p, true
		}
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			if p, ok := t[n[i+1:]]; ok {
				return p, true
			}
		}
	}
	return Price{}, false
}

// liteLLMEntry holds the fields Aether uses from one model entry. Costs are
// USD per token.
type liteLLMEntry struct {
	Input          *float64 `json:"input_cost_per_token"`
	Output         *float64 `json:"output_cost_per_token"`
	CacheRead      *float64 `json:"cache_read_input_token_cost"`
	CacheWrite     *float64 `json:"cache_creation_input_token_cost"`
	CacheWrite1h   *float64 `json:"cache_creation_input_token_cost_above_1hr"`
	InputLong      *float64 `json:"input_cost_per_token_above_200k_tokens"`
	OutputLong     *float64 `json:"output_cost_per_token_above_200k_tokens"`
	CacheReadLong  *float64 `json:"cache_read_input_token_cost_above_200k_tokens"`
	CacheWriteLong *float64 `json:"cache_creation_input_token_cost_above_200k_tokens"`
	// LiteLLM's name for the long-context 1-hour cache write price.
	CacheWrite1hLong *float64 `json:"cache_creation_input_token_cost_above_1hr_above_200k_tokens"`
	// OpenAI's newer models bill the whole request at a higher rate
	// above 272K prompt tokens (same file format, another threshold).
	InputLong272     *float64 `json:"input_cost_per_token_above_272k_tokens"`
	OutputLong272    *float64 `json:"output_cost_per_token_above_272k_tokens"`
	CacheReadLong272 *float64 `json:"cache_read_input_token_cost_above_272k_tokens"`
	PerRequest       *float64 `json:"input_cost_per_request"`
	Mode             string   `json:"mode"`
}

// perToken converts USD per token to exact micro-dollars per million
// tokens (USD/token × 10¹²), rounding away the float's last-digit noise.
func perToken(v *float64) (*llm.Micros, error) {
	if v == nil {
		return nil, nil
	}
	if *v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil, fmt.Errorf("price %v is not a non-negative number", *v)
	}
	m := llm.Micros(math.Round(*v * 1e12))
	return &m, nil
}

// ParseLiteLLM reads a model_prices_and_context_window.json document.
// Entries without input and output prices (images, audio, embeddings
// priced otherwise) are skipped.
func ParseLiteLLM(data []byte) (Table, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("pricing: not a model prices document: %w", err)
	}
	t := Table{}
	for name, msg := range raw {
		if strings.HasPrefix(name, "_") || name == "sample_spec" {
			continue
		}
		var e liteLLMEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			continue
		}
		if e.Input == nil || e.Output == nil {
			continue
		}
		var p Price
		var err error
		conv := func(v *float64) *llm.Micros {
			m, cerr := perToken(v)
			if cerr != nil && err == nil {
				err = fmt.Errorf("pricing: %s: %w", name, cerr)
			}
			return m
		}
		in, out := conv(e.Input), conv(e.Output)
		if err != nil {
			return nil, err
		}
		p.Input, p.Output = *in, *out
		p.CacheRead, p.CacheWrite5m, p.CacheWrite1h = conv(e.CacheRead), conv(e.CacheWrite), conv(e.CacheWrite1h)
		p.LongInput, p.LongOutput, p.LongCacheRead, p.LongCacheWrite5m = conv(e.InputLong), conv(e.OutputLong), conv(e.CacheReadLong), conv(e.CacheWriteLong)
		p.LongCacheWrite1h = conv(e.CacheWrite1hLong)
		if p.LongInput != nil || p.LongOutput != nil {
			p.LongThreshold = 200_000
		} else if e.InputLong272 != nil || e.OutputLong272 != nil {
			p.LongThreshold = 272_000
			p.LongInput, p.LongOutput, p.LongCacheRead = conv(e.InputLong272), conv(e.OutputLong272), conv(e.CacheReadLong272)
		}
		if e.PerRequest != nil {
			p.PerRequest = llm.Micros(math.Round(*e.PerRequest * 1e6))
		}
		if err != nil {
			return nil, err
		}
		p.Source = "model_prices_and_context_window.json"
		t[name] = p
	}
	// Also find "openai/gpt-4.1" as "gpt-4.1", unless the file prices the
	// short name itself.
	// (Sorted, so that of "azure/x" and "openai/x" the same one always wins.)
	prefixed := make([]string, 0, len(t))
	for name := range t {
		if strings.Contains(name, "/") {
			prefixed = append(prefixed, name)
		}
	}
	sort.Strings(prefixed)
	for _, name := range prefixed {
		short := name[strings.LastIndexByte(name, '/')+1:]
		if _, taken := t[short]; !taken {
			t[short] = t[name]
		}
	}
	return t, nil
}
