// Package memrecorder is an in-memory accounting recorder for tests.
package memrecorder

import (
	"sync"
	"time"

	"aether/internal/llm"
)

// Record is everything the proxy reported about one request.
type Record struct {
	Meta      llm.RequestMeta
	Plan      []llm.Candidate
	FirstByte time.Time
	Outcome   *llm.Outcome
}

// Memory is an in-memory Recorder for tests: it keeps every record and
// lets a test wait for a request to finish.
type Memory struct {
	mu      sync.Mutex
	records map[string]*Record
	order   []string
	changed chan struct{}
}

// New returns an empty Memory.
func New() *Memory {
	return &Memory{records: map[string]*Record{}, changed: make(chan struct{})}
}

func (m *Memory) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Start implements proxy.Recorder: the start is kept at once, so there is
// nothing to wait for.
func (m *Memory) Start(meta llm.RequestMeta, plan []llm.Candidate, _ func(error)) (wait func() error, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[meta.RequestID] = &Record{Meta: meta, Plan: plan}
	m.order = append(m.order, meta.RequestID)
	m.notify()
	return nil, nil
}

// FirstByte implements proxy.Recorder.
func (m *Memory) FirstByte(id string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.records[id]; r != nil {
		r.FirstByte = at
	}
	m.notify()
}

// Finished implements proxy.Recorder.
func (m *Memory) Finished(id string, out llm.Outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.records[id]; r != nil {
		r.Outcome = &out
	}
	m.notify()
}

// Get returns a copy of a request's record.
func (m *Memory) Get(id string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// IDs lists request IDs in arrival order.
func (m *Memory) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// WaitFinished blocks until the request has an outcome or timeout passes.
func (m *Memory) WaitFinished(id string, timeout time.Duration) (Record, bool) {
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		r, ok := m.records[id]
		ch := m.changed
		if ok && r.Outcome != nil {
			rec := *r
			m.mu.Unlock()
			return rec, true
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return Record{}, false
		}
	}
}
