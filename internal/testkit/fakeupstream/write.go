package fakeupstream

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Writing answers: status and headers, SSE events with optional gzip and
// flushing, whole bodies, pauses that end with the client, and aborts.

// begin writes the status line and headers, switching to gzip when the
// knob is on and the client accepts it.
func (x *exchange) begin(status int, ct []string) {
	h := x.w.Header()
	h["Content-Type"] = ct
	if x.p.gzip && strings.Contains(x.r.Header.Get("Accept-Encoding"), "gzip") {
		h["Content-Encoding"] = gzipValue
		h["Vary"] = varyEncoding
		x.gz = gzipPool.Get().(*gzip.Writer)
		x.gz.Reset(x.w)
		x.out = x.gz
	} else {
		x.out = x.w
	}
	x.w.WriteHeader(status)
}

// beginStream starts a 200 event stream and flushes the headers so the
// client sees them before FirstEventDelay elapses.
func (x *exchange) beginStream(ct []string) {
	x.w.Header()["Cache-Control"] = noCache
	x.begin(http.StatusOK, ct)
	x.rc = http.NewResponseController(x.w)
	if x.rc.Flush() != nil {
		abort()
	}
}

// event writes one stream event, honouring the delays, CutAfter,
// StreamErrorAfter and EndAfter.
func (x *exchange) event(b []byte) {
	if x.ended {
		return // the stream ended early: the rest is not sent
	}
	if x.events == x.p.cutAfter {
		abort()
	}
	switch x.events {
	case x.p.endAfter:
		x.ended = true
		return
	case x.p.streamErrorAfter:
		x.ended = true
		b = x.appendStreamError(x.buf[:0])
	}
	d := x.p.chunkInterval
	if x.events == 0 {
		d = x.p.firstEventDelay
	}
	if !x.sleep(d) {
		abort()
	}
	if _, err := x.out.Write(b); err != nil {
		abort()
	}
	x.flush()
	x.events++
}

func (x *exchange) flush() {
	if x.gz != nil && x.gz.Flush() != nil {
		abort()
	}
	if x.rc.Flush() != nil {
		abort()
	}
}

// endStream completes the body; only gzip has anything left to write.
func (x *exchange) endStream() {
	if x.gz != nil {
		_ = x.gz.Close()
	}
}

// respond writes a complete non-streamed 200 body, honouring
// FirstEventDelay and cutting it in half for CutAfter.
func (x *exchange) respond(ct []string, body []byte) {
	if !x.p.gzip && x.p.cutAfter < 0 {
		x.w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	x.begin(http.StatusOK, ct)
	if x.p.firstEventDelay > 0 || x.p.cutAfter >= 0 {
		x.rc = http.NewResponseController(x.w)
		x.flush()
		if !x.sleep(x.p.firstEventDelay) {
			abort()
		}
	}
	if x.p.cutAfter >= 0 {
		_, _ = x.out.Write(body[:len(body)/2])
		x.flush()
		abort()
	}
	_, _ = x.out.Write(body)
	x.endStream()
}

// sleep waits d, reporting false when the client or the server gave up.
func (x *exchange) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-x.r.Context().Done():
		return false
	case <-x.s.closed:
		return false
	}
}

// abort drops the connection without terminating the response, which is
// how an upstream dying mid-stream looks to a client: net/http closes the
// connection (HTTP/1) or resets the stream (HTTP/2) and logs nothing.
func abort() { panic(http.ErrAbortHandler) }

func (x *exchange) writeHTML() {
	status := x.p.status
	if status == 0 {
		status = DefaultHTMLStatus
	}
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	b := append(x.buf[:0], "<!DOCTYPE html>\n<html>\n<head><title>"...)
	b = append(b, text...)
	b = append(b, "</title></head>\n<body>\n<center><h1>"...)
	b = append(b, text...)
	b = append(b, "</h1></center>\n<hr><center>fakeupstream</center>\n</body>\n</html>\n"...)
	x.buf = b
	x.begin(status, ctHTML)
	_, _ = x.out.Write(b)
	x.endStream()
}
