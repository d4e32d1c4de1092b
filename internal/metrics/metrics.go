// Package metrics defines every Prometheus metric Aether exports, on an
// injected registry. Labels stay bounded: API format, model (configured
// names only), provider, status class, error class, token bucket. Never a
// key, a user or anything a client typed.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"aether/internal/llm"
)

// API holds the API process's metrics.
type API struct {
	Requests    *prometheus.CounterVec
	Latency     *prometheus.HistogramVec
	FirstByte   *prometheus.HistogramVec
	Attempts    *prometheus.CounterVec
	Failovers   *prometheus.CounterVec
	Tokens      *prometheus.CounterVec
	Refusals    *prometheus.CounterVec
	InFlight    prometheus.Gauge
	Responses   *prometheus.CounterVec
	BodyBytes   prometheus.Gauge
	responses   responseCounters
	registry    prometheus.Registerer
	knownModels func(string) bool
}

// latencyBuckets span a cached completion (10 ms) to a long agent turn.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// NewAPI registers the API metrics on reg. knownModel bounds the model
// label: a name that is not a configured model is reported as "other".
func NewAPI(reg prometheus.Registerer, knownModel func(string) bool) *API {
	m := &API{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_requests_total", Help: "Proxied requests by API format, model, provider that answered, and status class (2xx, 4xx, 5xx, 499).",
		}, []string{"format", "model", "provider", "status_class"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aether_request_duration_seconds", Help: "Time from receiving a request to its last byte.", Buckets: latencyBuckets,
		}, []string{"format", "model"}),
		FirstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aether_time_to_first_byte_seconds", Help: "Time from receiving a request to its first byte reaching the client.", Buckets: latencyBuckets,
		}, []string{"format", "model"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_upstream_attempts_total", Help: "Upstream attempts by provider and result (ok or the error class).",
		}, []string{"format", "provider", "result"}),
		Failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_failovers_total", Help: "Attempts abandoned for the next candidate, by reason.",
		}, []string{"provider", "reason"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_tokens_total", Help: "Tokens by model and bucket (input, cache_read, cache_write_5m, cache_write_1h, output).",
		}, []string{"model", "bucket"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_refusals_total", Help: "Requests refused, by reason: before any upstream call (rate_limit, budget, concurrency, ...), or journal_after_upstream: fail-closed accounting could not journal the start while the upstream was called, and the attempt was abandoned.",
		}, []string{"format", "reason"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aether_requests_in_flight", Help: "Proxied requests being served now.",
		}),
		Responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_responses_total", Help: "Every HTTP response of the API, by route family (openai, anthropic, gemini, admin, other), status class and reason (ok, or why it was refused or failed).",
		}, []string{"format", "status_class", "reason"}),
		BodyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aether_request_body_bytes_in_flight", Help: "Bytes reserved for request bodies held in memory now (capped by AETHER_MAX_INFLIGHT_BODY_BYTES).",
		}),
		registry:    reg,
		knownModels: knownModel,
	}
	reg.MustRegister(m.Requests, m.Latency, m.FirstByte, m.Attempts, m.Failovers, m.Tokens, m.Refusals, m.InFlight, m.Responses, m.BodyBytes)
	return m
}

func (m *API) model(name string) string {
	if m.knownModels == nil || m.knownModels(name) {
		return name
	}
	return "other"
}

// StatusClass maps a status code to a bounded label.
func StatusClass(code int) string {
	switch {
	case code == 499:
		return "499"
	case code >= 200 && code < 600:
		return statusClasses[code/100-2]
	}
	return "other"
}

var statusClasses = [...]string{"2xx", "3xx", "4xx", "5xx"}

// Attempt implements proxy.Metrics.
func (m *API) Attempt(format llm.Format, provider string, class llm.ErrorClass) {
	result := "ok"
	if class != llm.ErrNone {
		result = string(class)
	}
	m.Attempts.WithLabelValues(string(format), provider, result).Inc()
	switch class {
	case llm.ErrNone, llm.ErrClientRequest, llm.ErrClientCancelled, llm.ErrShutdown:
	case llm.ErrStreamCut, llm.ErrUpstreamStreamError, llm.ErrStreamTruncated:
		// Failed after the first byte: nothing is tried after them.
	default:
		m.Failovers.WithLabelValues(provider, string(class)).Inc()
	}
}

// Request implements proxy.Metrics.
func (m *API) Request(format llm.Format, model, provider string, status int, total, firstByte time.Duration, u llm.Usage) {
	model = m.model(model)
	m.Requests.WithLabelValues(string(format), model, provider, StatusClass(status)).Inc()
	m.Latency.WithLabelValues(string(format), model).Observe(total.Seconds())
	if firstByte > 0 {
		m.FirstByte.WithLabelValues(string(format), model).Observe(firstByte.Seconds())
	}
	for i, n := range [...]int64{u.InputTokens, u.CacheReadTokens, u.CacheWrite5mTokens, u.CacheWrite1hTokens, u.OutputTokens} {
		if n > 0 {
			m.Tokens.WithLabelValues(model, tokenBuckets[i]).Add(float64(n))
		}
	}
}

// tokenBuckets are the token label values, in the order Request reads them.
var tokenBuckets = [...]string{"input", "cache_read", "cache_write_5m", "cache_write_1h", "output"}

// Refused counts a request refused before routing.
func (m *API) Refused(format llm.Format, reason string) {
	m.Refusals.WithLabelValues(string(format), reason).Inc()
}

// Response counts one HTTP response. format and reason must come from
// fixed lists, never from the request.
func (m *API) Response(format string, status int, reason string) {
	m.responses.get(m.Responses, responseKey{format, StatusClass(status), reason}).Inc()
}

// responseCounters caches the counters of aether_responses_total, so
// counting a response (every request does) costs a map read instead of
// WithLabelValues's hashing and allocation.
type responseCounters struct {
	mu sync.RWMutex
	m  map[responseKey]prometheus.Counter
}

type responseKey struct{ format, class, reason string }

func (c *responseCounters) get(vec *prometheus.CounterVec, k responseKey) prometheus.Counter {
	c.mu.RLock()
	ctr, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return ctr
	}
	ctr = vec.WithLabelValues(k.format, k.class, k.reason)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[responseKey]prometheus.Counter)
	}
	c.m[k] = ctr
	c.mu.Unlock()
	return ctr
}

// BodyBuffered moves the gauge of request-body bytes held in memory.
func (m *API) BodyBuffered(delta int64) {
	m.BodyBytes.Add(float64(delta))
}

// GaugeFunc registers a gauge read at scrape time.
func GaugeFunc(reg prometheus.Registerer, name, help string, f func() float64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter read at scrape time.
func CounterFunc(reg prometheus.Registerer, name, help string, f func() float64) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// NewRegistry returns a registry with the Go runtime and process
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
