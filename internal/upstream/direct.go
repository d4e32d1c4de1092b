package upstream

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
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
	idle map[string][]*directConn
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
		MaxIdlePerHost: 256, idle: map[string][]*directConn{}}
}

func hostKey(req *http.Request) string {
	host := req.URL.Host
	if req.URL.Port() == "" {
		if req.URL.Scheme == "https" {
			host += ":443"
		} else {
			host += ":80"
		}
	}
	return req.URL.Scheme + "://" + host
}

func (d *Direct) get(ctx context.Context, req *http.Request) (*directConn, bool, error) {
	key := hostKey(req)
	d.mu.Lock()
	if list := d.idle[key]; len(list) > 0 {
		c := list[len(list)-1]
		d.idle[key] = list[:len(list)-1]
		d.mu.Unlock()
		return c, true, nil
	}
	d.mu.Unlock()
	addr := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	conn, err := d.Dial(ctx, "tcp", addr)
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

func (d *Direct) put(key string, c *directConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.idle[key]) >= d.MaxIdlePerHost {
		c.Close()
		return
	}
	d.idle[key] = append(d.idle[key], c)
}

// errRetryFresh marks a failure on a reused connection before any byte of
// the response: the server closed it while idle, so one retry on a fresh
// connection is safe.
var errRetryFresh = errors.New("reused connection closed")

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
		if errors.Is(err, errRetryFresh) && attempt == 0 && req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			req.Body = body
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
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		stop()
		c.Close()
		if reused && ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return nil, errRetryFresh
		}
		return nil, ctxErr(ctx, err)
	}
	key := hostKey(req)
	body := &directBody{rc: resp.Body, c: c, stop: stop, d: d, key: key, keep: !resp.Close && !req.Close}
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

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// directBody returns its connection to the pool once the body was read to
// its end, and closes it otherwise.
type directBody struct {
	rc   io.ReadCloser
	c    *directConn
	stop func() bool
	d    *Direct
	key  string
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
	_ = b.rc.Close() // for a fully read body this only discards nothing
	if b.stop() && b.eof && b.keep {
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
