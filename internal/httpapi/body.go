package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"aether/internal/jsonbody"
	"aether/internal/llm"
)

// bodyRoom is spare capacity left after a body read into memory, so that
// renaming its model for the upstream and asking for stream usage edit it
// in place instead of copying it (jsonbody.Object.Edit).
const bodyRoom = 512

// bodyBudget caps the bytes of request bodies held in memory at once, all
// requests together (AETHER_MAX_INFLIGHT_BODY_BYTES). It never waits: a
// request that does not fit is refused at once, 503 in its API's shape,
// since waiting would hold the connection and its body anyway.
type bodyBudget struct {
	max  int64
	used atomic.Int64
	obs  Observer

	mu      sync.Mutex
	freeing bool // a hand-back is scheduled
}

// largeBody is the size from which releasing a body hands memory back to
// the OS once the bodies still held are small, at most once per
// handBackEvery.
const (
	largeBody     = 8 << 20
	handBackEvery = time.Second
)

// acquire reserves n bytes, or reports that they do not fit.
func (b *bodyBudget) acquire(n int64) bool {
	for {
		cur := b.used.Load()
		if cur+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			if b.obs != nil {
				b.obs.BodyBuffered(n)
			}
			return true
		}
	}
}

func (b *bodyBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.used.Add(-n)
	if b.obs != nil {
		b.obs.BodyBuffered(-n)
	}
	if n >= largeBody {
		b.handBack()
	}
}

// handBack returns the memory of a burst of large bodies to the OS once the
// burst is over. Their garbage would otherwise wait for the heap to grow
// again or for the runtime's two-minute forced GC, and the freed pages for
// the scavenger after that: the process stayed at its peak RSS for minutes
// after one burst (issue 8). A GC with a small live heap costs a few
// milliseconds; it runs at most once per handBackEvery, and not while
// large bodies are still held.
func (b *bodyBudget) handBack() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.freeing {
		return
	}
	b.freeing = true
	time.AfterFunc(handBackEvery, func() {
		if b.used.Load() < largeBody {
			debug.FreeOSMemory()
		}
		b.mu.Lock()
		b.freeing = false
		b.mu.Unlock()
	})
}

// errBodyBudget: the body does not fit in AETHER_MAX_INFLIGHT_BODY_BYTES.
var errBodyBudget = errors.New("request bodies in memory at their cap")

// readBody reads the request body into one buffer, answering the client
// itself (in d's shape) when it cannot. A Content-Length over the limit is
// refused before a byte is read. A body with a Content-Length is read into
// a buffer of exactly that size (plus bodyRoom); a chunked one grows by
// half at a time and stops at the limit. held bytes stay reserved in the
// body budget until the caller releases them, when the request is over.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, d llm.Dialect) (body []byte, held int64, ok bool) {
	limit := s.cfg.MaxBodyBytes
	var err error
	switch {
	case r.ContentLength > limit:
		err = &http.MaxBytesError{Limit: limit}
	case r.ContentLength >= 0:
		if !s.bodies.acquire(r.ContentLength + bodyRoom) {
			err = errBodyBudget
			break
		}
		held = r.ContentLength + bodyRoom
		body = make([]byte, r.ContentLength, held)
		if _, err = io.ReadFull(r.Body, body); err == nil {
			// Reach the end, so the body read deadline is lifted now.
			var probe [1]byte
			if n, perr := r.Body.Read(probe[:]); n > 0 {
				err = errors.New("body longer than its Content-Length")
			} else if perr != io.EOF {
				err = perr
			}
		}
	default:
		body, held, err = s.readChunked(r.Body, limit)
	}
	if err == nil {
		return body, held, true
	}
	s.bodies.release(held)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		refuse(w, d, llm.KindTooLarge, reasonTooLarge, "Request body is larger than the gateway accepts.")
	case err == errBodyBudget:
		w.Header().Set("Retry-After", "1")
		refuse(w, d, llm.KindUnavailable, reasonOverloaded, "The gateway is holding too many request bodies right now; try again shortly.")
	case errors.Is(err, os.ErrDeadlineExceeded):
		refuse(w, d, llm.KindRequestTimeout, reasonBodyTimeout, "The request body did not arrive in time.")
	default:
		refuse(w, d, llm.KindInvalidRequest, reasonBodyRead, "Could not read the request body.")
	}
	return nil, 0, false
}

// readChunked reads a body of unknown length, growing its buffer by half
// (never doubling) and reserving each step in the budget. Past limit it
// fails with *http.MaxBytesError, and with errBodyBudget when a step does
// not fit; held is what it reserved either way.
func (s *Server) readChunked(src io.Reader, limit int64) (buf []byte, held int64, err error) {
	for {
		if len(buf) == cap(buf)-bodyRoom || buf == nil {
			if int64(len(buf)) > limit {
				return nil, held, &http.MaxBytesError{Limit: limit}
			}
			size := min(64<<10, limit+1) + bodyRoom
			if buf != nil {
				size = min(int64(cap(buf))+int64(cap(buf))/2, limit+1+bodyRoom)
			}
			if !s.bodies.acquire(size - held) {
				return nil, held, errBodyBudget
			}
			held = size
			next := make([]byte, len(buf), size)
			copy(next, buf)
			buf = next
		}
		n, err := src.Read(buf[len(buf) : cap(buf)-bodyRoom])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF && int64(len(buf)) > limit:
			return nil, held, &http.MaxBytesError{Limit: limit}
		case err == io.EOF:
			return buf, held, nil
		case err != nil:
			return nil, held, err
		}
	}
}

// readJSON reads a bounded JSON object body, answering the client itself
// (413, 408, 503 or 400) when it cannot. held is as for readBody.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, d llm.Dialect) (*jsonbody.Object, int64, bool) {
	body, held, ok := s.readBody(w, r, d)
	if !ok {
		return nil, 0, false
	}
	obj, err := jsonbody.Parse(body)
	if err != nil {
		s.bodies.release(held)
		refuse(w, d, llm.KindInvalidRequest, reasonBadJSON, "The request body is not a valid JSON object.")
		return nil, 0, false
	}
	return obj, held, true
}

// upstreamBody hands each attempt the body to send for its upstream model
// name: forwarded byte for byte apart from "model". Until the
// first attempt has it, the client's body is edited in place; a later
// attempt that needs another model name gets a copy, as an earlier
// attempt's transport may still be reading the bytes it was given.
type upstreamBody struct {
	obj      *jsonbody.Object
	model    string // the model name obj.Body carries
	shared   bool   // obj.Body was handed to an attempt
	injected bool   // the gateway added a stream usage request
}

func (b *upstreamBody) forModel(upstreamModel string) ([]byte, bool) {
	if upstreamModel != b.model {
		v := jsonbody.Quote(upstreamModel)
		if b.shared {
			b.obj = b.obj.Clone(len(v))
		}
		b.obj.Edit("model", v)
		b.model = upstreamModel
	}
	b.shared = true
	return b.obj.Body, b.injected
}
