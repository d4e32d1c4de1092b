package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
