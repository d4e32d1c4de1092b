// Package routing turns a request into an ordered list of candidates
// (provider, endpoint, key, upstream model) and the candidates it skipped,
// each with a reason. It is pure: no I/O, no clock of its own, so the same
// inputs always give the same plan (issue 3).
package routing

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/store"
	"aether/internal/translate"
)

// Order is how candidates are ranked.
type Order string

// Orders.
const (
	// OrderProvider ranks by provider priority, then key priority.
	OrderProvider Order = "provider"
	// OrderGlobal ranks every key by its global priority across providers.
	OrderGlobal Order = "global"
)

// Skip reasons recorded on skipped candidates.
const (
	SkipProviderInactive = "provider_inactive"
	SkipFormatMismatch   = "format_mismatch"
	SkipEndpointInactive = "endpoint_inactive"
	SkipKeyInactive      = "key_inactive"
	SkipRestricted       = "restricted"
	SkipModelNotAllowed  = "model_not_allowed_on_key"
	SkipBreakerOpen      = "breaker_open"
)

// Health says whether a provider key's circuit breaker currently refuses
// requests.
type Health interface {
	Open(keyID int64, now time.Time) bool
}

// Request is what routing needs to know of one request.
type Request struct {
	Caller *catalog.Caller
	Model  string
	Format llm.Format
	// API is the client's API within its format (OpenAI Chat or
	// Responses); empty means the format's main API (ClientAPI).
	API translate.API
	Now time.Time
	// AffinityKeyID is the provider key this caller last succeeded with for
	// this model, or 0.
	AffinityKeyID int64
}

// Plan is the outcome of selection.
type Plan struct {
	Model      *catalog.Model
	Candidates []llm.Candidate
	Skipped    []llm.Candidate
}

type ranked struct {
	c              llm.Candidate
	p1, p2, hashed uint64
}

// Select builds the plan. It returns llm.ErrModelUnknown for a model that
// does not exist and llm.ErrForbidden when the caller may not use the
// model or the API format. A plan with no candidates is valid: the caller
// answers 503.
func Select(snap *catalog.Snapshot, req Request, health Health, order Order) (Plan, error) {
	m, ok := snap.Model(req.Model)
	if !ok {
		return Plan{}, llm.ErrModelUnknown
	}
	key, user := req.Caller.Key, req.Caller.User
	if !catalog.Allowed(key.AllowedFormats, string(req.Format)) {
		return Plan{}, llm.ErrForbidden
	}
	for _, list := range [][]string{key.AllowedModels, user.AllowedModels} {
		if !catalog.AllowedModel(list, m.Name, req.Model) {
			return Plan{}, llm.ErrForbidden
		}
	}
	plan := Plan{Model: m}
	var cands []ranked
	n := 0
	for _, r := range m.Routes {
		n += len(r.Provider.Keys)
	}
	cands = make([]ranked, 0, n)
	restricted := 0
	client := cmp.Or(req.API, ClientAPI(req.Format))
	for _, r := range m.Routes {
		p := r.Provider
		ep, api := Endpoint(p, req.Format, client)
		for _, k := range p.Keys {
			c := llm.Candidate{ProviderID: p.ID, Provider: p.Name, KeyID: k.ID, KeyName: k.Name, UpstreamModel: r.UpstreamModel, UpstreamAPI: string(api)}
			if ep != nil {
				c.EndpointID = ep.ID
			}
			switch {
			case !p.Active:
				c.SkippedReason = SkipProviderInactive
			case ep == nil:
				c.SkippedReason = SkipFormatMismatch
			case !ep.Active:
				c.SkippedReason = SkipEndpointInactive
			case !catalog.Allowed(key.AllowedProviders, p.Name) || !catalog.Allowed(user.AllowedProviders, p.Name):
				c.SkippedReason = SkipRestricted
				restricted++
			case !k.Active:
				c.SkippedReason = SkipKeyInactive
			case !catalog.AllowedModel(k.AllowedModels, m.Name, r.UpstreamModel):
				c.SkippedReason = SkipModelNotAllowed
			case health != nil && health.Open(k.ID, req.Now):
				c.SkippedReason = SkipBreakerOpen
			}
			if c.SkippedReason != "" {
				plan.Skipped = append(plan.Skipped, c)
				continue
			}
			rk := ranked{c: c, hashed: spread(key.ID, k.ID)}
			if order == OrderGlobal {
				rk.p1 = prio(k.GlobalPriority)
			} else {
				rk.p1, rk.p2 = uint64(int64(p.Priority)+math.MaxInt32), uint64(int64(k.Priority)+math.MaxInt32)
			}
			if k.ID == req.AffinityKeyID {
				rk.c.AffinityHit = true
			}
			cands = append(cands, rk)
		}
	}
	if len(cands) == 0 && restricted > 0 && restricted == len(plan.Skipped) {
		return Plan{}, llm.ErrForbidden
	}
	slices.SortFunc(cands, func(a, b ranked) int {
		if a.c.AffinityHit != b.c.AffinityHit {
			if a.c.AffinityHit {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.p1, b.p1), cmp.Compare(a.p2, b.p2), cmp.Compare(a.hashed, b.hashed), cmp.Compare(a.c.KeyID, b.c.KeyID))
	})
	plan.Candidates = make([]llm.Candidate, len(cands))
	for i := range cands {
		plan.Candidates[i] = cands[i].c
		plan.Candidates[i].Index = i
	}
	for i := range plan.Skipped {
		plan.Skipped[i].Index = len(cands) + i
	}
	return plan, nil
}

// ClientAPI is the API a format's client speaks when the path does not say
// otherwise: OpenAI's is Chat Completions (Responses is told by its path).
func ClientAPI(f llm.Format) translate.API {
	switch f {
	case llm.FormatOpenAIChat:
		return translate.OpenAIChat
	case llm.FormatAnthropic:
		return translate.AnthropicMessages
	case llm.FormatGemini:
		return translate.Gemini
	}
	return translate.OpenAIChat
}

// UpstreamAPI is the API an endpoint of format f is called with when a
// request is translated for it. An OpenAI-format endpoint is served as
// Chat Completions, the API every OpenAI-compatible server has; Responses
// reaches it only by passthrough. An openai-chat endpoint has Chat only.
func UpstreamAPI(f llm.Format) translate.API { return ClientAPI(f) }

// passthrough reports whether a client of the format and API is served by
// an endpoint of format f without translation: the endpoint is of the
// client's format, or has the client's API (a Chat client on an
// openai-chat endpoint).
func passthrough(format llm.Format, client translate.API, f llm.Format) bool {
	return f == format || f == llm.FormatOpenAIChat && client == translate.OpenAIChat
}

// Endpoint picks the provider's endpoint for a client (docs/translation.md,
// "In the gateway"): the endpoint of the client's own format when the
// provider has one (passthrough: api is ""), else the first endpoint, in
// llm.Formats order and active ones first, whose API the client's can be
// translated to. It returns nil when the provider has neither.
func Endpoint(p *catalog.Provider, format llm.Format, client translate.API) (ep *store.Endpoint, api translate.API) {
	for _, f := range llm.EndpointFormats {
		if e := p.Endpoints[f]; e != nil && passthrough(format, client, f) && (ep == nil || !ep.Active && e.Active) {
			ep = e
		}
	}
	if ep != nil {
		return ep, ""
	}
	for _, f := range llm.EndpointFormats {
		e := p.Endpoints[f]
		if e == nil || !translate.Supported(client, UpstreamAPI(f)) {
			continue
		}
		if ep == nil || !ep.Active && e.Active {
			ep, api = e, UpstreamAPI(f)
		}
	}
	return ep, api
}

// prio maps an optional global priority to a sort key, unset last.
func prio(p *int) uint64 {
	if p == nil {
		return math.MaxUint64
	}
	return uint64(int64(*p) + math.MaxInt32)
}

// spread is a stable hash of (gateway key, provider key): among equal
// priorities one caller always prefers the same provider key (its prompt
// cache lives there) while different callers spread evenly.
func spread(gatewayKey, providerKey int64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(gatewayKey))
	binary.LittleEndian.PutUint64(b[8:], uint64(providerKey))
	h := fnv.New64a()
	_, _ = h.Write(b[:])
	return h.Sum64()
}

// clientAPIs are the APIs a client can call, each with its format.
var clientAPIs = []struct {
	format llm.Format
	api    translate.API
}{
	{llm.FormatOpenAI, translate.OpenAIChat},
	{llm.FormatOpenAI, translate.OpenAIResponses},
	{llm.FormatAnthropic, translate.AnthropicMessages},
	{llm.FormatGemini, translate.Gemini},
}

// CheckEndpoints reports, when a route points a model at a provider with
// endpoints of these formats, the first client API that provider could
// serve neither by passthrough nor by a translation that is built. The
// configuration is refused for it at load (issue 12), never at request
// time. A provider without endpoints is not checked: it serves nothing.
func CheckEndpoints(formats []llm.Format) error { return checkEndpoints(formats, translate.Supported) }

func checkEndpoints(formats []llm.Format, supported func(client, upstream translate.API) bool) error {
	if len(formats) == 0 {
		return nil
	}
	for _, c := range clientAPIs {
		ok := false
		for _, f := range formats {
			if passthrough(c.format, c.api, f) || supported(c.api, UpstreamAPI(f)) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("a %s client cannot be served by its %v endpoint(s): translation from %s to %s is not built",
				c.api, formats, c.api, UpstreamAPI(formats[0]))
		}
	}
	return nil
}
