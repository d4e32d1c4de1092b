package upstream

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, d *Direct, ctx context.Context, url, body string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	return d.RoundTrip(req)
}

func TestDirectReusesConnections(t *testing.T) {
	srv, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), b...))
	})
	d := NewDirect(NewTransport())
	for i := range 20 {
		resp, err := post(t, d, context.Background(), srv.URL+"/x", "hi")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "echo:hi" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential requests", n)
	}
}

// TestDirectRetriesStaleConnection: the server closes an idle connection;
// the next request goes out again on a fresh one.
func TestDirectRetriesStaleConnection(t *testing.T) {
	srv, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	d := NewDirect(NewTransport())
	resp, err := post(t, d, context.Background(), srv.URL, "a")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	resp, err = post(t, d, context.Background(), srv.URL, "b")
	if err != nil {
		t.Fatalf("request after the server closed the idle connection: %v", err)
	}
	resp.Body.Close()
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections", n)
	}
}

func TestDirectCancelUnblocks(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	d := NewDirect(NewTransport())
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(t, d, ctx, srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read of a cancelled body ended cleanly")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not unblock the body read")
	}
	resp.Body.Close()
}

func TestDirectGzip(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte("compressed body"))
		_ = zw.Close()
	})
	resp, err := post(t, NewDirect(NewTransport()), context.Background(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "compressed body" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("%q %v %v", b, err, resp.Header)
	}
}

func TestDirectConnectError(t *testing.T) {
	_, err := post(t, NewDirect(NewTransport()), context.Background(), "http://127.0.0.1:1/x", "")
	if err == nil {
		t.Fatal("no error dialing a closed port")
	}
}

func TestDirectTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secure")) }))
	defer srv.Close()
	d := NewDirect(NewTransport())
	d.TLS.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	for range 2 {
		resp, err := post(t, d, context.Background(), srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "secure" {
			t.Fatalf("%q", b)
		}
	}
}

// get sends body to url and returns the status and the whole answer.
func get(t *testing.T, d *Direct, url, body string, header ...string) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader([]byte(body)))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := d.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestDirectExpectContinue: a server that honours `Expect: 100-continue`
// (Go's does) answers 100 and then the real response. Each request gets its
// own final answer, and the connection is reused cleanly. Before the fix
// the 100 was returned as the response and the real answer was left on the
// pooled connection for the next request.
func TestDirectExpectContinue(t *testing.T) {
	srv, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), b...))
	})
	d := NewDirect(NewTransport())
	for _, body := range []string{"first", "second", "third"} {
		status, got, err := get(t, d, srv.URL, body, "Expect", "100-continue")
		if err != nil || status != 200 || got != "echo:"+body {
			t.Fatalf("request %q: %d %q %v", body, status, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 3 sequential requests", n)
	}
}

// TestDirectSkipsInformationalResponses: 102 and 103 responses before the
// final one are skipped; the final one is returned.
func TestDirectSkipsInformationalResponses(t *testing.T) {
	srv, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusProcessing)
		w.Header().Del("Link")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("echo:"), b...))
	})
	d := NewDirect(NewTransport())
	for _, body := range []string{"a", "b"} {
		status, got, err := get(t, d, srv.URL, body)
		if err != nil || status != http.StatusCreated || got != "echo:"+body {
			t.Fatalf("request %q: %d %q %v", body, status, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// rawServer accepts connections and lets serve write raw bytes for the
// i-th request (counting from 0 over all connections) after reading it.
func rawServer(t *testing.T, serve func(i int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					serve(int(n.Add(1)-1), c)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestDirectTooManyInformationalResponses: an endless run of 1xx answers
// ends in an error, not an endless read.
func TestDirectTooManyInformationalResponses(t *testing.T) {
	url := rawServer(t, func(_ int, c net.Conn) {
		for range 100 {
			if _, err := c.Write([]byte("HTTP/1.1 103 Early Hints\r\n\r\n")); err != nil {
				return
			}
		}
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	})
	if _, _, err := get(t, NewDirect(NewTransport()), url, "x"); err == nil {
		t.Fatal("no error after 100 informational responses")
	}
}

// TestDirectStrayBytesNotPooled: bytes after a response, sent with it or
// later while the connection is idle, never reach the next request: the
// connection is dropped and the next request gets its own answer.
func TestDirectStrayBytesNotPooled(t *testing.T) {
	for _, later := range []bool{false, true} {
		url := rawServer(t, func(i int, c net.Conn) {
			answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nreq-%02d", i)
			stray := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstray!"
			if i > 0 {
				_, _ = c.Write([]byte(answer))
				return
			}
			if later {
				_, _ = c.Write([]byte(answer))
				time.Sleep(50 * time.Millisecond)
				_, _ = c.Write([]byte(stray))
				return
			}
			_, _ = c.Write([]byte(answer + stray))
		})
		d := NewDirect(NewTransport())
		for i := range 2 {
			if i == 1 {
				time.Sleep(200 * time.Millisecond) // the late stray bytes have arrived
			}
			status, got, err := get(t, d, url, "x")
			if want := fmt.Sprintf("req-%02d", i); err != nil || status != 200 || got != want {
				t.Fatalf("later=%v request %d: %d %q %v, want %q", later, i, status, got, err, want)
			}
		}
	}
}

// TestDirectEarlyCloseNotDrained: closing a body before its end (a client
// that went away mid-stream) closes the connection at once instead of
// reading the rest of the stream, and the next request gets a fresh
// connection and its own answer.
func TestDirectEarlyCloseNotDrained(t *testing.T) {
	release := make(chan struct{})
	srv, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			_, _ = w.Write([]byte("data: 1\n\n"))
			w.(http.Flusher).Flush()
			select { // a stream that goes on until the client leaves
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = w.Write([]byte("plain"))
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	d := NewDirect(NewTransport())
	resp, err := post(t, d, context.Background(), srv.URL+"/stream", "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { resp.Body.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("closing an unfinished stream waited for its end")
	}
	status, got, err := get(t, d, srv.URL+"/plain", "")
	if err != nil || status != 200 || got != "plain" {
		t.Fatalf("next request: %d %q %v", status, got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the cut one is not reused)", n)
	}
}

// TestDirectNoResendAfterFullWrite: a reused connection that dies after
// the server read the whole request, before any response, is an error: the
// request is not sent again, because the provider may already be
// generating (and billing) the answer. Before the fix Direct resent it on
// a fresh connection.
func TestDirectNoResendAfterFullWrite(t *testing.T) {
	var seen sync.Map // body -> *atomic.Int32
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n, _ := seen.LoadOrStore(string(b), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if string(b) == "generate" {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close() // the whole request was read; no answer
			}
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	d := NewDirect(NewTransport())
	if _, got, err := get(t, d, srv.URL, "warm-up"); err != nil || got != "ok" {
		t.Fatalf("warm-up: %q %v", got, err)
	}
	if _, _, err := get(t, d, srv.URL, "generate"); err == nil {
		t.Fatal("no error for a request whose connection died before the response")
	}
	n, _ := seen.Load("generate")
	if got := n.(*atomic.Int32).Load(); got != 1 {
		t.Fatalf("the server received the request %d times, want 1", got)
	}
}

// failingConn fails its writes once fail is set; it hides the socket, so
// the idle check cannot see that anything is wrong.
type failingConn struct {
	net.Conn
	fail *atomic.Bool
}

func (c failingConn) Write(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, errors.New("broken pipe")
	}
	return c.Conn.Write(p)
}

// TestDirectResendsWhenWriteFails: when writing to a reused connection
// fails, the server never got the request, so it is sent once more on a
// fresh connection.
func TestDirectResendsWhenWriteFails(t *testing.T) {
	var got atomic.Int32
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), b...))
	})
	d := NewDirect(NewTransport())
	var first atomic.Bool
	var dials atomic.Int32
	dial := d.Dial
	d.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		fail := &first // only the first connection breaks
		if dials.Add(1) > 1 {
			fail = new(atomic.Bool)
		}
		return failingConn{Conn: c, fail: fail}, nil
	}
	if _, body, err := get(t, d, srv.URL, "one"); err != nil || body != "echo:one" {
		t.Fatalf("first: %q %v", body, err)
	}
	first.Store(true)
	if _, body, err := get(t, d, srv.URL, "two"); err != nil || body != "echo:two" {
		t.Fatalf("after a failed write: %q %v", body, err)
	}
	if n := got.Load(); n != 2 || dials.Load() != 2 {
		t.Fatalf("server saw %d requests over %d connections, want 2 over 2", n, dials.Load())
	}
}
