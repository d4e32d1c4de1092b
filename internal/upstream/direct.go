package upstream

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Direct is an HTTP/1.1 RoundTripper that writes the request and reads the
// response on the calling goroutine, over pooled keep-alive connections.
// net/http's Transport hands every request and response between three
// goroutines (caller, write loop, read loop); on a busy 2-core machine
// those hand-offs are a large part of what a proxy adds to each request.
// Requests it cannot serve (proxies from the environment, HTTP/2-only
// servers) go to Fallback.
//
// A pooled connection must carry nothing but the next exchange, or one
// caller's answer reaches another. So, like net/http:
//   - informational (1xx) responses before the final one are read and
//     skipped (101 is final and the connection is not reused);
//   - a connection returns to the pool only after its response body was
//     read to the end with nothing after it, and an idle connection is
//     checked for a close or unsolicited bytes before it is reused;
//   - a request is sent again (once, on a fresh connection) only when
//     writing it to a reused connection failed. Once it was written in
//     full, the provider may be generating (and billing) the answer, so a
//     failure to read the response is returned, never retried.
type Direct struct {
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	TLS      *tls.Config
	Fallback http.RoundTripper
	// Proxy, when it names a proxy for a request, sends that request
	// through Fallback.
	Proxy func(*http.Request) (*url.URL, error)
	// MaxIdlePerHost bounds the idle connections kept per host.
	MaxIdlePerHost int

	mu   sync.Mutex
	idle map[hostKey][]*directConn
}

type directConn struct {
	net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// NewDirect returns a Direct transport with fallback to t.
func NewDirect(t *http.Transport) *Direct {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &Direct{Dial: d.DialContext, TLS: &tls.Config{NextProtos: []string{"http/1.1"}}, Fallback: t, Proxy: t.Proxy,
		MaxIdlePerHost: 256, idle: map[hostKey][]*directConn{}}
}

// hostKey names a pool of connections: the URL's scheme and host as
// written, so looking a pool up costs no allocation. ("h" and "h:80" get
// two pools, which is harmless.)
type hostKey struct{ scheme, host string }

func keyOf(req *http.Request) hostKey { return hostKey{req.URL.Scheme, req.URL.Host} }

// addr is the host:port to dial, with the scheme's default port.
func (k hostKey) addr() string {
	if _, port, err := net.SplitHostPort(k.host); err == nil && port != "" {
		return k.host
	}
	if k.scheme == "https" {
		return strings.TrimSuffix(k.host, ":") + ":443"
	}
	return strings.TrimSuffix(k.host, ":") + ":80"
}

func (d *Direct) get(ctx context.Context, req *http.Request) (*directConn, bool, error) {
	key := keyOf(req)
	for {
		d.mu.Lock()
		list := d.idle[key]
		if len(list) == 0 {
			d.mu.Unlock()
			break
		}
		c := list[len(list)-1]
		d.idle[key] = list[:len(list)-1]
		d.mu.Unlock()
		if idleConnUsable(c.Conn) {
			return c, true, nil
		}
		c.Close() // closed by the server while idle, or holding stray bytes
	}
	conn, err := d.Dial(ctx, "tcp", key.addr())
	if err != nil {
		return nil, false, err
	}
	if req.URL.Scheme == "https" {
		cfg := d.TLS.Clone()
		cfg.ServerName = req.URL.Hostname()
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, false, err
		}
		conn = tc
	}
	return &directConn{Conn: conn, br: bufio.NewReaderSize(conn, 16<<10), bw: bufio.NewWriterSize(conn, 16<<10)}, false, nil
}

func (d *Direct) put(key hostKey, c *directConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.idle[key]) >= d.MaxIdlePerHost {
		c.Close()
		return
	}
	d.idle[key] = append(d.idle[key], c)
}

// errRetryFresh marks a failure to write the request to a reused
// connection: the server closed it while idle and never saw a whole
// request, so one retry on a fresh connection is safe.
var errRetryFresh = errors.New("reused connection closed")

// max1xx bounds the informational responses accepted before the final one,
// so a misbehaving server cannot keep the caller reading them for ever.
const max1xx = 5

var errTooMany1xx = errors.New("upstream: too many 1xx informational responses")

// RoundTrip implements http.RoundTripper.
func (d *Direct) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return d.Fallback.RoundTrip(req)
	}
	if d.Proxy != nil {
		if u, err := d.Proxy(req); err != nil || u != nil {
			return d.Fallback.RoundTrip(req) // HTTP(S)_PROXY applies: net/http knows proxies
		}
	}
	// Ask for gzip unless the caller chose an encoding, and decode it
	// transparently, as net/http does.
	gz := req.Header.Get("Accept-Encoding") == ""
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	for attempt := 0; ; attempt++ {
		resp, err := d.roundTrip(req, gz)
		if errors.Is(err, errRetryFresh) && attempt == 0 && (req.GetBody != nil || req.Body == nil || req.Body == http.NoBody) {
			if req.GetBody != nil {
				body, gerr := req.GetBody()
				if gerr != nil {
					return nil, err
				}
				req.Body = body
			}
			continue
		}
		return resp, err
	}
}

func (d *Direct) roundTrip(req *http.Request, gz bool) (*http.Response, error) {
	ctx := req.Context()
	c, reused, err := d.get(ctx, req)
	if err != nil {
		return nil, err
	}
	// Cancelling the request closes the connection, which unblocks any
	// read or write in progress.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err = req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		stop()
		c.Close()
		if reused && ctx.Err() == nil {
			return nil, errRetryFresh
		}
		return nil, ctxErr(ctx, err)
	}
	// The request is on the wire: from here on a failure is returned,
	// never retried (the server may be acting on it).
	resp, err := readFinal(c.br, req)
	if err != nil {
		stop()
		c.Close()
		if reused && ctx.Err() == nil && errors.Is(err, io.EOF) {
			err = fmt.Errorf("upstream closed a reused connection after the request was sent: %w", err)
		}
		return nil, ctxErr(ctx, err)
	}
	key := keyOf(req)
	keep := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	body := &directBody{rc: resp.Body, c: c, stop: stop, d: d, key: key, keep: keep}
	resp.Body = body
	if gz && resp.Header.Get("Content-Encoding") == "gzip" {
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
		resp.Body = &gzipBody{src: body}
	}
	return resp, nil
}

// readFinal reads the response to req, skipping informational ones
// (100 Continue, 102 Processing, 103 Early Hints): they have no body and
// precede the real answer on the same connection.
func readFinal(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for n := 0; ; n++ {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if n == max1xx {
			return nil, errTooMany1xx
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// directBody returns its connection to the pool once the body was read to
// its end with nothing buffered after it, and closes it otherwise.
type directBody struct {
	rc   io.ReadCloser
	c    *directConn
	stop func() bool
	d    *Direct
	key  hostKey
	keep bool
	eof  bool
	done bool
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *directBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	// A body read to EOF has nothing left to discard. One closed early is
	// not drained (net/http's body.Close would read the rest of a stream
	// that nobody wants): its connection is closed instead.
	if b.stop() && b.eof && b.keep && b.c.br.Buffered() == 0 {
		b.d.put(b.key, b.c)
		return nil
	}
	return b.c.Close()
}

// gzipBody decompresses lazily, so a stream's first event is not held up.
type gzipBody struct {
	src io.ReadCloser
	zr  *gzip.Reader
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			return 0, err
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

func (g *gzipBody) Close() error { return g.src.Close() }
