package seed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"aether/internal/llm"
	"aether/internal/routing"
)

// Load reads, decodes and validates the configuration file at path,
// expanding ${ENV_VAR} references through getenv. Every error names the
// file, the line and the field.
func Load(path string, getenv func(string) string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load on bytes already read; name is used in error messages.
func Parse(name string, data []byte, getenv func(string) string) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		var pe *posError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d:%d: %v", name, pe.line, pe.col, pe.err)
		}
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			pos := ye.GetToken().Position
			return nil, fmt.Errorf("%s:%d:%d: %s", name, pos.Line, pos.Column, ye.GetMessage())
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	v := &validator{name: name, getenv: getenv}
	if file, err := parser.ParseBytes(data, 0); err == nil {
		v.ast = file
	}
	v.file(&f)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return &f, nil
}

type validator struct {
	name   string
	ast    *ast.File
	getenv func(string) string
	errs   []error
	fields []FieldError
	// external: references may name entities outside the document (the
	// admin API validates one entity at a time; Apply resolves them).
	external bool
}

// FieldError is one invalid field: its path in the document (such as
// "keys[0].secret") and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Validate checks a document built in code (the admin API's request
// bodies) with the same rules as a configuration file, expanding no
// ${VAR} references, and returns every invalid field. References to
// providers and models may name ones that already exist in the database.
func Validate(f *File) []FieldError {
	v := &validator{name: "request", getenv: func(string) string { return "" }, external: true}
	v.file(f)
	return v.fields
}

// failf records an error at the YAML path (like "$.providers[0].name"),
// located to a line when the path, or failing that its parent, exists.
func (v *validator) failf(path, format string, args ...any) {
	line, col := v.locate(path)
	field := strings.TrimPrefix(path, "$.")
	msg := fmt.Sprintf(format, args...)
	v.fields = append(v.fields, FieldError{Field: field, Message: msg})
	if line > 0 {
		v.errs = append(v.errs, fmt.Errorf("%s:%d:%d: %s: %s", v.name, line, col, field, msg))
		return
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s: %s", v.name, field, msg))
}

func (v *validator) locate(path string) (int, int) {
	if v.ast == nil {
		return 0, 0
	}
	for p := path; p != "$" && p != ""; {
		if yp, err := yaml.PathString(p); err == nil {
			if node, err := yp.FilterFile(v.ast); err == nil && node != nil && node.GetToken() != nil {
				pos := node.GetToken().Position
				return pos.Line, pos.Column
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return 0, 0
}

// expandField expands ${VAR} references in *s, recording an error on failure.
func (v *validator) expandField(path string, s *string) {
	if v.external {
		return // admin API bodies are literal values
	}
	out, err := expand(*s, v.getenv)
	if err != nil {
		v.failf(path, "%v", err)
		return
	}
	*s = out
}

func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.failf(path, "is required")
		return false
	}
	return true
}

func (v *validator) unique(seen map[string]string, path, kind, name string) {
	if prev, ok := seen[name]; ok {
		v.failf(path, "%s %q is already defined at %s", kind, name, strings.TrimPrefix(prev, "$."))
		return
	}
	seen[name] = path
}

func (v *validator) formats(path string, list []string) {
	for i, f := range list {
		if !llm.Format(f).Valid() {
			v.failf(fmt.Sprintf("%s[%d]", path, i), "unknown API format %q (want openai, anthropic or gemini)", f)
		}
	}
}

func (v *validator) period(path, p string) {
	if p != "" && p != "none" && p != "monthly" {
		v.failf(path, "unknown budget period %q (want none or monthly)", p)
	}
}

// decimal reports a decimal that arrived as invalid JSON text.
func (v *validator) decimal(path string, d *Decimal) {
	if d != nil && d.invalid != "" {
		v.failf(path, "%q is %v", d.invalid, llm.ErrDecimal)
	}
}

func (v *validator) positive(path string, n *int) {
	if n != nil && *n <= 0 {
		v.failf(path, "must be positive")
	}
}

func (v *validator) file(f *File) {
	providers := map[string]string{}
	formats := map[string][]llm.Format{}
	for i := range f.Providers {
		p := &f.Providers[i]
		base := fmt.Sprintf("$.providers[%d]", i)
		if v.required(base+".name", p.Name) {
			v.unique(providers, base+".name", "provider", p.Name)
		}
		endpoints := map[string]string{}
		for j := range p.Endpoints {
			e := &p.Endpoints[j]
			eb := fmt.Sprintf("%s.endpoints[%d]", base, j)
			if !llm.Format(e.Format).ValidEndpoint() {
				v.failf(eb+".format", "unknown API format %q (want openai, openai-chat, anthropic or gemini)", e.Format)
			} else if !slices.Contains(formats[p.Name], llm.Format(e.Format)) {
				formats[p.Name] = append(formats[p.Name], llm.Format(e.Format))
			}
			if e.Name == "" {
				e.Name = e.Format
			}
			v.unique(endpoints, eb+".name", "endpoint", e.Name)
			v.expandField(eb+".base_url", &e.BaseURL)
			if v.required(eb+".base_url", e.BaseURL) {
				if u, err := url.Parse(e.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					v.failf(eb+".base_url", "%q is not an absolute http(s) URL", e.BaseURL)
				}
			}
			for h, val := range e.Headers {
				v.expandField(eb+".headers."+h, &val)
				e.Headers[h] = val
			}
		}
		keys := map[string]string{}
		for j := range p.Keys {
			k := &p.Keys[j]
			kb := fmt.Sprintf("%s.keys[%d]", base, j)
			if v.required(kb+".name", k.Name) {
				v.unique(keys, kb+".name", "key", k.Name)
			}
			v.expandField(kb+".secret", &k.Secret)
			if !v.external { // the admin API may change a key's settings alone
				v.required(kb+".secret", k.Secret)
			}
			v.positive(kb+".max_concurrent", k.MaxConcurrent)
			v.decimal(kb+".rate_multiplier", k.RateMultiplier)
		}
	}
	models := map[string]string{}
	for i := range f.Models {
		m := &f.Models[i]
		base := fmt.Sprintf("$.models[%d]", i)
		if v.required(base+".name", m.Name) {
			v.unique(models, base+".name", "model name or alias", m.Name)
		}
		pattern := llm.IsModelPattern(m.Name)
		if pattern && !llm.ValidModelPattern(m.Name) {
			v.failf(base+".name", "%q is not a valid pattern (path.Match syntax: *, ?, [a-z], \\ escapes)", m.Name)
		}
		for j, a := range m.Aliases {
			ab := fmt.Sprintf("%s.aliases[%d]", base, j)
			switch {
			case pattern:
				v.failf(ab, "a pattern has no aliases (it already matches every name it serves)")
			case llm.IsModelPattern(a):
				v.failf(ab, "an alias is an exact name; %q is a pattern (make it a model of its own)", a)
			}
			v.unique(models, ab, "model name or alias", a)
		}
		for j := range m.Routes {
			r := &m.Routes[j]
			rb := fmt.Sprintf("%s.routes[%d]", base, j)
			if v.required(rb+".provider", r.Provider) {
				if _, ok := providers[r.Provider]; !ok && !v.external {
					v.failf(rb+".provider", "provider %q is not defined in this file", r.Provider)
				}
				// A client of another format is served by translation: a
				// pair that is not built is refused here, not per request.
				if err := routing.CheckEndpoints(formats[r.Provider]); err != nil {
					v.failf(rb+".provider", "provider %q: %v", r.Provider, err)
				}
			}
			switch {
			case llm.IsModelPattern(r.UpstreamModel):
				v.failf(rb+".upstream_model", "%q is a pattern; an upstream model is an exact name", r.UpstreamModel)
			case r.UpstreamModel == "" && !pattern:
				r.UpstreamModel = m.Name
				// A pattern's route without an upstream model passes the
				// requested name on unchanged; it stays empty.
			}
		}
	}
	prices := map[string]string{}
	for i := range f.Prices {
		p := &f.Prices[i]
		base := fmt.Sprintf("$.prices[%d]", i)
		if v.required(base+".model", p.Model) {
			v.unique(prices, base+".model", "price for", p.Model+" "+p.Provider)
			if _, ok := models[p.Model]; !ok && !v.external {
				v.failf(base+".model", "model %q is not defined in this file", p.Model)
			}
		}
		if _, ok := providers[p.Provider]; p.Provider != "" && !ok && !v.external {
			v.failf(base+".provider", "provider %q is not defined in this file", p.Provider)
		}
		for _, d := range []struct {
			name string
			d    *Decimal
		}{{"input", &p.Input}, {"output", &p.Output}, {"cache_read", p.CacheRead}, {"cache_write_5m", p.CacheWrite5m},
			{"cache_write_1h", p.CacheWrite1h}, {"per_request", &p.PerRequest}} {
			v.decimal(base+"."+d.name, d.d)
		}
		if lc := p.LongContext; lc != nil {
			if lc.Threshold <= 0 {
				v.failf(base+".long_context.threshold", "must be a positive token count")
			}
			for _, d := range []struct {
				name string
				d    *Decimal
			}{{"input", lc.Input}, {"output", lc.Output}, {"cache_read", lc.CacheRead}, {"cache_write_5m", lc.CacheWrite5m}, {"cache_write_1h", lc.CacheWrite1h}} {
				v.decimal(base+".long_context."+d.name, d.d)
			}
		}
	}
	users := map[string]string{}
	gkeys := map[string]string{}
	for i := range f.Users {
		u := &f.Users[i]
		base := fmt.Sprintf("$.users[%d]", i)
		if v.required(base+".name", u.Name) {
			v.unique(users, base+".name", "user", u.Name)
		}
		v.period(base+".budget_period", u.BudgetPeriod)
		v.positive(base+".rpm_limit", u.RPMLimit)
		v.decimal(base+".budget_usd", u.BudgetUSD)
		for j := range u.Keys {
			k := &u.Keys[j]
			kb := fmt.Sprintf("%s.keys[%d]", base, j)
			if v.required(kb+".name", k.Name) {
				v.unique(gkeys, kb+".name", "gateway key", k.Name)
			}
			v.expandField(kb+".key", &k.Key)
			switch {
			case k.Key == "":
				if !v.external { // the admin API may change a key's settings alone
					v.required(kb+".key", k.Key)
				}
			case len(k.Key) < 8:
				v.failf(kb+".key", "must be at least 8 characters")
			}
			v.formats(kb+".allowed_formats", k.AllowedFormats)
			v.period(kb+".budget_period", k.BudgetPeriod)
			v.positive(kb+".rpm_limit", k.RPMLimit)
			v.decimal(kb+".budget_usd", k.BudgetUSD)
		}
	}
}
