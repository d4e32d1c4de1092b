// Package upstream builds and sends the outbound request of one attempt and
// classifies what comes back.
package upstream

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"aether/internal/core"
)

// NewTransport returns the shared transport for upstream calls: pooled
// keep-alive connections (a new TLS handshake per request would cost more
// than the whole gateway), HTTP/2 where the provider offers it, and
// transparent gzip (the client's Accept-Encoding is not forwarded, so Go
// asks for gzip itself and decompresses before the gateway reads events).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// dropHeaders are never forwarded: the gateway's own credentials, and
// hop-by-hop or framing headers the transport sets itself.
var dropHeaders = map[string]bool{
	"Authorization": true, "X-Api-Key": true, "X-Goog-Api-Key": true, "Api-Key": true,
	"Cookie": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Authorization": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Accept-Encoding": true,
	"X-Request-Id": true, "X-Forwarded-For": true,
}

// Request is everything one attempt sends.
type Request struct {
	Method   string
	BaseURL  string
	Path     string
	RawQuery string
	Client   http.Header
	Extra    map[string]string
	Dialect  core.Dialect
	Key      string
	Body     []byte
}

// Build returns a fresh outbound request; the inbound request is never
// reused or mutated (STYLE.md rule 11).
func Build(ctx context.Context, in Request) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, cmpOr(in.Method, http.MethodPost), JoinURL(in.BaseURL, in.Path, in.RawQuery), bytes.NewReader(in.Body))
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(in.Client)+4)
	for k, v := range in.Client {
		if dropHeaders[k] {
			continue
		}
		h[k] = v
	}
	for k, v := range in.Extra {
		h.Set(k, v)
	}
	in.Dialect.SetAuth(h, in.Key)
	if h.Get("Content-Type") == "" && len(in.Body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	req.Header = h
	req.ContentLength = int64(len(in.Body))
	return req, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// JoinURL appends path to base. When base already ends in the version
// segment the path starts with ("https://api.openai.com/v1" +
// "/v1/responses"), the duplicate is dropped, so base URLs work written
// either way.
func JoinURL(base, path, rawQuery string) string {
	base = strings.TrimRight(base, "/")
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		last := base[i:]
		if strings.HasPrefix(last, "/v") && (path == last || strings.HasPrefix(path, last+"/")) {
			path = path[len(last):]
		}
	}
	u := base + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

// StripKeyParam removes the gateway key (`key=`) from a query string, so the
// rest (Gemini's alt=sse, Claude Code's beta=true) is forwarded and the key
// never is.
func StripKeyParam(rawQuery string) string {
	if !strings.Contains(rawQuery, "key=") {
		return rawQuery
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ""
	}
	q.Del("key")
	return q.Encode()
}
