package fakeupstream

import (
	"maps"
	"net/http"
	"sync"
	"time"
)

// Request is what the server received, kept so tests can assert what a
// gateway forwarded (headers, rewritten model, which key it chose).
// Header and Body are shared with the server's copy: treat them as
// read-only.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Body holds at most Config.RecordBodyLimit bytes; BodyTruncated says
	// whether more arrived.
	Body          []byte
	BodyTruncated bool
	// Key is the API key the request presented in its format's header, or
	// "" when it presented none.
	Key string
	// Model is the model named by the body, or by the path for Gemini.
	Model    string
	Stream   bool
	Received time.Time
}

// journal keeps the last requests in a ring and counts all of them.
type journal struct {
	limit     int // ring capacity; 0 disables recording of request details
	bodyLimit int

	mu    sync.Mutex
	ring  []Request
	next  int // ring index of the next write once the ring is full
	total int
	byKey map[string]int
}

func (j *journal) add(r *http.Request, body []byte, key, model string, stream bool) {
	var rec Request
	if j.limit > 0 {
		rec = Request{
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Header:   r.Header.Clone(),
			Key:      key,
			Model:    model,
			Stream:   stream,
			Received: time.Now(),
		}
		n := len(body)
		if n > j.bodyLimit {
			n = j.bodyLimit
			rec.BodyTruncated = true
		}
		if n > 0 {
			rec.Body = append([]byte(nil), body[:n]...)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.total++
	if j.byKey == nil {
		j.byKey = make(map[string]int)
	}
	j.byKey[key]++
	if j.limit == 0 {
		return
	}
	if len(j.ring) < j.limit {
		j.ring = append(j.ring, rec)
		return
	}
	j.ring[j.next] = rec
	j.next = (j.next + 1) % j.limit
}

// Requests returns a copy of the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	j := &s.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Request, 0, len(j.ring))
	out = append(out, j.ring[j.next:]...)
	return append(out, j.ring[:j.next]...)
}

// Count returns how many API requests arrived since New or Reset, including
// ones that were rejected or fell out of the ring. GET /healthz is not
// counted.
func (s *Server) Count() int {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return s.journal.total
}

// CountKey returns how many requests presented key ("" counts requests
// without a key), for asserting which upstream key a gateway used.
func (s *Server) CountKey(key string) int {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return s.journal.byKey[key]
}

// CountByKey returns a copy of the per-key request counts.
func (s *Server) CountByKey() map[string]int {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	if s.journal.byKey == nil {
		return map[string]int{}
	}
	return maps.Clone(s.journal.byKey)
}

// Reset forgets recorded requests and counts.
func (s *Server) Reset() {
	j := &s.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ring = nil
	j.next = 0
	j.total = 0
	j.byKey = nil
}
