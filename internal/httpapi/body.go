package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"

	"aether/internal/core"
	"aether/internal/jsonbody"
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
}

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
}

// readBody reads the request body into one buffer, answering the client
// itself (in d's shape) when it cannot. A Content-Length over the limit is
// refused before a byte is read. A body with a Content-Length is read into
// a buffer of exactly that size (plus bodyRoom); a chunked one grows by
// half at a time and stops at the limit. The bytes are reserved in the
// body budget until release is called, when the request is over.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, d core.Dialect) (body []byte, release func(), ok bool) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := func() {
		refuse(w, d, http.StatusRequestEntityTooLarge, core.KindTooLarge, reasonTooLarge, "Request body is larger than the gateway accepts.")
	}
	if r.ContentLength > limit {
		tooLarge()
		return nil, nil, false
	}
	var reserved int64
	release = func() { s.bodies.release(reserved); reserved = 0 }
	grow := func(size int64) bool {
		if !s.bodies.acquire(size - reserved) {
			release()
			w.Header().Set("Retry-After", "1")
			refuse(w, d, http.StatusServiceUnavailable, core.KindUnavailable, reasonOverloaded, "The gateway is holding too many request bodies right now; try again shortly.")
			return false
		}
		reserved = size
		return true
	}
	var err error
	if r.ContentLength >= 0 {
		if !grow(r.ContentLength + bodyRoom) {
			return nil, nil, false
		}
		body = make([]byte, r.ContentLength, r.ContentLength+bodyRoom)
		_, err = io.ReadFull(r.Body, body)
		if err == nil {
			// Reach the end, so the body read deadline is lifted now.
			var probe [1]byte
			if n, perr := r.Body.Read(probe[:]); n > 0 {
				err = errors.New("body longer than its Content-Length")
			} else if perr != nil && perr != io.EOF {
				err = perr
			}
		}
	} else {
		body, err = s.readChunked(r.Body, limit, grow)
		if body == nil && err == nil {
			return nil, nil, false // refused by grow
		}
	}
	if err != nil {
		release()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			tooLarge()
		case errors.Is(err, os.ErrDeadlineExceeded):
			refuse(w, d, http.StatusRequestTimeout, core.KindInvalidRequest, reasonBodyTimeout, "The request body did not arrive in time.")
		default:
			refuse(w, d, http.StatusBadRequest, core.KindInvalidRequest, reasonBodyRead, "Could not read the request body.")
		}
		return nil, nil, false
	}
	return body, release, true
}

// readChunked reads a body of unknown length, growing its buffer by half
// (never doubling) and reserving each step in the budget; past limit it
// fails with *http.MaxBytesError. It returns nil, nil when grow refused.
func (s *Server) readChunked(src io.Reader, limit int64, grow func(int64) bool) ([]byte, error) {
	size := min(64<<10, limit+1) + bodyRoom
	if !grow(size) {
		return nil, nil
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf)-bodyRoom {
			if int64(len(buf)) > limit {
				return nil, &http.MaxBytesError{Limit: limit}
			}
			size = min(int64(cap(buf))+int64(cap(buf))/2, limit+1+bodyRoom)
			if !grow(size) {
				return nil, nil
			}
			next := make([]byte, len(buf), size)
			copy(next, buf)
			buf = next
		}
		n, err := src.Read(buf[len(buf) : cap(buf)-bodyRoom])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, &http.MaxBytesError{Limit: limit}
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readJSON reads a bounded JSON object body, answering the client itself
// (413, 408, 503 or 400) when it cannot.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, d core.Dialect) (*jsonbody.Object, func(), bool) {
	body, release, ok := s.readBody(w, r, d)
	if !ok {
		return nil, nil, false
	}
	obj, err := jsonbody.Parse(body)
	if err != nil {
		release()
		refuse(w, d, http.StatusBadRequest, core.KindInvalidRequest, reasonBadJSON, "The request body is not a valid JSON object.")
		return nil, nil, false
	}
	return obj, release, true
}

// upstreamBody hands each attempt the body to send for its upstream model
// name (STYLE: forwarded byte for byte apart from "model"). Until the
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
