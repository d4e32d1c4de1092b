package proxy

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"aether/internal/jsonscan"
	"aether/internal/llm"
	"aether/internal/sse"
	"aether/internal/upstream"
)

// The relay: from the commit point on, an attempt owns the response and
// copies the upstream's answer to the client, event by event for a stream
// and through a usage scanner for a body, then records how it ended.

// eventReader is sse.Reader or sse.ArrayReader.
type eventReader interface {
	Next() (sse.Event, error)
}

func (p *Proxy) relayStream(ctx, actx context.Context, w http.ResponseWriter, in *Inbound, resp *http.Response, injected bool,
	timer *time.Timer, failure func() attemptResult, st *state) attemptResult {
	var rd eventReader
	if in.ArrayStream {
		rd = sse.NewArrayReader(resp.Body)
	} else {
		rd = sse.NewReader(resp.Body)
	}
	obs := in.Dialect.NewStream(injected)
	// Prefetch up to the first event that carries data.
	var pending [][]byte
	var first sse.Event
	for {
		ev, err := rd.Next()
		if upstream.LooksLikeHTML(resp.Header.Get("Content-Type"), ev.Raw) {
			return attemptResult{class: llm.ErrHTMLPage, status: resp.StatusCode}
		}
		if err != nil && !(errors.Is(err, io.EOF) && len(ev.Data) > 0) {
			if actx.Err() != nil {
				return failure()
			}
			return attemptResult{class: llm.ErrStreamCut, status: resp.StatusCode} // closed before any event: fail over
		}
		if len(ev.Data) > 0 || ev.Name != "" {
			first = ev
			break
		}
		pending = append(pending, bytes.Clone(ev.Raw))
	}
	if obs.IsError(first.Name, first.Data) {
		return attemptResult{class: llm.ErrEmbedded, status: resp.StatusCode}
	}
	if st.startRefused() {
		return abandoned
	}
	// Commit point.
	timer.Stop()
	h := w.Header()
	h.Set("Content-Type", cmp.Or(resp.Header.Get("Content-Type"), "text/event-stream"))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	firstByte := p.now()
	st.out.FirstByte = firstByte.Sub(st.start)
	if st.billable {
		p.recorder.FirstByte(in.RequestID, firstByte)
	}
	clientGone := false
	for _, raw := range pending {
		if _, werr := w.Write(raw); werr != nil {
			clientGone = true
		}
	}
	ev, err := first, error(nil)
	for !clientGone {
		if obs.Observe(ev.Name, ev.Data) {
			if _, werr := w.Write(ev.Raw); werr != nil {
				clientGone = true
				break
			}
			if ferr := rc.Flush(); ferr != nil {
				clientGone = true
				break
			}
		}
		if err != nil {
			break
		}
		ev, err = rd.Next()
		if err != nil && len(ev.Raw) == 0 {
			break
		}
	}
	st.out.Usage = obs.Usage()
	return p.settle(ctx, st, resp.StatusCode, upstream.Stop{
		Committed: true, Stream: true, StreamFailed: obs.Failed(), Complete: obs.Complete(),
		ClientGone: clientGone, CleanEnd: cleanEnd(err),
	}, "upstream stream ended before its final event")
}

// cleanEnd reports whether a read ended with the upstream closing the body
// cleanly rather than cutting it.
func cleanEnd(err error) bool {
	return err == nil || errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF)
}

// endMessages say why a committed answer failed, for the record.
var endMessages = map[llm.ErrorClass]string{
	llm.ErrUpstreamStreamError: "upstream reported an error inside the stream",
	llm.ErrStreamTruncated:     "upstream stream ended without its final event",
	llm.ErrShutdown:            "cut at the gateway's shutdown drain deadline",
}

// settle records how a committed answer ended. The class comes from
// upstream.ClassifyStop: completed, an error the upstream reported in the
// stream, a stream closed without its terminal event, the server's
// shutdown, the client going away, or a cut (cutMsg says which body).
func (p *Proxy) settle(ctx context.Context, st *state, status int, s upstream.Stop, cutMsg string) attemptResult {
	s.Shutdown, s.Ended, s.Deadline = shuttingDown(ctx), ctx.Err() != nil, errors.Is(ctx.Err(), context.DeadlineExceeded)
	class := upstream.ClassifyStop(s)
	res := attemptResult{class: class, status: status, committed: true}
	switch class {
	case llm.ErrNone:
		st.out.Status, st.out.StatusCode = llm.StatusCompleted, status
	case llm.ErrClientCancelled:
		st.out.Status, st.out.StatusCode, st.out.ErrorClass = llm.StatusCancelled, 499, class
		res.status = 499
	case llm.ErrShutdown:
		st.out.Status, st.out.StatusCode, st.out.ErrorClass = llm.StatusFailed, llm.KindUnavailable.Status(), class
		st.out.ErrorMessage = endMessages[class]
	default:
		st.out.Status, st.out.StatusCode, st.out.ErrorClass = llm.StatusFailed, http.StatusBadGateway, class
		st.out.ErrorMessage = cmp.Or(endMessages[class], cutMsg)
	}
	return res
}

func (p *Proxy) relayBody(ctx context.Context, w http.ResponseWriter, in *Inbound, resp *http.Response,
	timer *time.Timer, failure func() attemptResult, st *state) attemptResult {
	head := make([]byte, 512)
	n, rerr := io.ReadFull(resp.Body, head)
	head = head[:n]
	short := errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) // the whole body is in head
	if rerr != nil && !short {
		return failure()
	}
	if upstream.LooksLikeHTML(resp.Header.Get("Content-Type"), head) {
		return attemptResult{class: llm.ErrHTMLPage, status: resp.StatusCode}
	}
	if st.startRefused() {
		return abandoned
	}
	// Commit point.
	timer.Stop()
	copyHeader(w.Header(), resp.Header, "Content-Type")
	w.WriteHeader(resp.StatusCode)
	st.out.FirstByte = p.now().Sub(st.start)
	// The body goes through a scanner that keeps only its usage member,
	// so usage is read from a body of any size in constant memory.
	scan := jsonscan.New(in.Dialect.UsageMember(), usageLimit)
	_, _ = scan.Write(head)
	cw := &clientWriter{w: w}
	_, _ = cw.Write(head)
	var err error
	if !short && cw.err == nil {
		tee := io.TeeReader(resp.Body, scan)
		cb := copyBuffers.Get().(*[]byte)
		_, err = io.CopyBuffer(cw, tee, *cb)
		copyBuffers.Put(cb)
	}
	if doc, ok := scan.Result(); ok {
		st.out.Usage = in.Dialect.BodyUsage(doc)
	}
	complete := cw.err == nil && err == nil // the whole body reached the client
	if cw.err != nil {
		err = nil // the client went away; the upstream did not fail
	}
	return p.settle(ctx, st, resp.StatusCode, upstream.Stop{
		Committed: true, Complete: complete, ClientGone: cw.err != nil, CleanEnd: cleanEnd(err),
	}, "upstream body ended early")
}

// clientWriter remembers a failed write to the client, which means the
// client went away.
type clientWriter struct {
	w   io.Writer
	err error
}

func (c *clientWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// copyBuffers recycles the buffers of non-stream relays: one per request
// would be most of the gateway's garbage.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// usageLimit bounds the bytes kept of a non-stream body's usage member; a
// usage object is a few hundred bytes.
const usageLimit = 64 << 10

func copyHeader(dst, src http.Header, names ...string) {
	for _, n := range names {
		if v := src.Get(n); v != "" {
			dst.Set(n, v)
		}
	}
}
