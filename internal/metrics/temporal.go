package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// temporalLabels are the SDK tags kept; every SDK metric gets exactly these
// labels (empty when the SDK does not set one), so each Prometheus metric
// has one fixed label set and the cardinality stays bounded.
var temporalLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type"}

// TemporalHandler exports the Temporal SDK's worker metrics (workflow and
// activity outcomes, task latencies, poller counts) as aether_temporal_*.
func TemporalHandler(reg prometheus.Registerer) client.MetricsHandler {
	return &temporalHandler{reg: reg, shared: &temporalVecs{
		counters: map[string]*prometheus.CounterVec{},
		gauges:   map[string]*prometheus.GaugeVec{},
		timers:   map[string]*prometheus.HistogramVec{},
	}}
}

type temporalVecs struct {
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
}

type temporalHandler struct {
	reg    prometheus.Registerer
	shared *temporalVecs
	tags   map[string]string
}

func promName(name string) string {
	return "aether_" + strings.NewReplacer(".", "_", "-", "_").Replace(name)
}

func (h *temporalHandler) values() []string {
	out := make([]string, len(temporalLabels))
	for i, l := range temporalLabels {
		out[i] = h.tags[l]
	}
	return out
}

func (h *temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &temporalHandler{reg: h.reg, shared: h.shared, tags: merged}
}

func (h *temporalHandler) Counter(name string) client.MetricsCounter {
	s := h.shared
	s.mu.Lock()
	v, ok := s.counters[name]
	if !ok {
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName(name) + "_total", Help: "Temporal SDK metric " + name}, temporalLabels)
		_ = h.reg.Register(v)
		s.counters[name] = v
	}
	s.mu.Unlock()
	c := v.WithLabelValues(h.values()...)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

func (h *temporalHandler) Gauge(name string) client.MetricsGauge {
	s := h.shared
	s.mu.Lock()
	v, ok := s.gauges[name]
	if !ok {
		v = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName(name), Help: "Temporal SDK metric " + name}, temporalLabels)
		_ = h.reg.Register(v)
		s.gauges[name] = v
	}
	s.mu.Unlock()
	g := v.WithLabelValues(h.values()...)
	return gaugeFunc(g.Set)
}

func (h *temporalHandler) Timer(name string) client.MetricsTimer {
	s := h.shared
	s.mu.Lock()
	v, ok := s.timers[name]
	if !ok {
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: promName(name) + "_seconds", Help: "Temporal SDK metric " + name, Buckets: latencyBuckets}, temporalLabels)
		_ = h.reg.Register(v)
		s.timers[name] = v
	}
	s.mu.Unlock()
	o := v.WithLabelValues(h.values()...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// Worker holds the worker's own metrics, next to the SDK's.
type Worker struct {
	Activities *prometheus.CounterVec
	Unpriced   *prometheus.CounterVec
	Deleted    *prometheus.CounterVec
}

// NewWorker registers the worker metrics on reg.
func NewWorker(reg prometheus.Registerer) *Worker {
	w := &Worker{
		Activities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_activity_results_total", Help: "Accounting activity executions by activity and result (ok, error).",
		}, []string{"activity", "result"}),
		Unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_unpriced_requests_total", Help: "Requests recorded with cost unknown because their model has no price.",
		}, []string{"model"}),
		Deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aether_retention_deleted_rows_total", Help: "Rows deleted by the retention workflow, by table.",
		}, []string{"table"}),
	}
	reg.MustRegister(w.Activities, w.Unpriced, w.Deleted)
	return w
}
