// Package upstream builds and sends the outbound request of one attempt and
// classifies what comes back.
package upstream

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"aether/internal/llm"
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

// dropHeaders are never forwarded: the gateway's own credentials, framing
// headers the transport sets itself, and the hop-by-hop headers of RFC 9110
// section 7.6.1 as httputil.ReverseProxy drops them. Besides these, every
// Proxy-* header and every header the client's Connection header names is
// dropped (hopByHop).
//
// Expect is hop-by-hop too: `Expect: 100-continue` asks the next hop to
// answer 100 before the body, and the gateway has already read the body
// (curl sends it for large bodies, .NET Framework and PowerShell 5.1
// always).
var dropHeaders = map[string]bool{
	"Authorization": true, "X-Api-Key": true, "X-Goog-Api-Key": true, "Api-Key": true,
	"Cookie": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Expect": true, "Accept-Encoding": true,
	"X-Request-Id": true, "X-Forwarded-For": true,
}

// hopByHop returns the headers named in h's Connection header, in
// canonical form; nil when there are none.
func hopByHop(h http.Header) map[string]bool {
	var named map[string]bool
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				if named == nil {
					named = map[string]bool{}
				}
				named[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	return named
}

// Request is everything one attempt sends.
type Request struct {
	BaseURL  string
	Path     string
	RawQuery string
	Client   http.Header
	Extra    map[string]string
	Dialect  llm.Dialect
	Key      string
	Body     []byte
}

// Build returns a fresh outbound request; the inbound request is never
// reused or mutated.
func Build(ctx context.Context, in Request) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, JoinURL(in.BaseURL, in.Path, in.RawQuery), bytes.NewReader(in.Body))
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(in.Client)+4)
	named := hopByHop(in.Client)
	for k, v := range in.Client {
		ck := http.CanonicalHeaderKey(k)
		if dropHeaders[ck] || named[ck] || strings.HasPrefix(ck, "Proxy-") {
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

// StripKeyParam removes the gateway key from a query string, so the rest
// (Gemini's alt=sse, Claude Code's beta=true) is forwarded byte for byte
// and the key never is. A parameter is dropped by its decoded name, so
// `%6Bey=` goes too (issue 8): Go decodes it to `key`, which authenticates.
// Parts are also split at ';', which some servers still read as a
// separator.
func StripKeyParam(rawQuery string) string {
	parts := strings.Split(rawQuery, "&")
	kept := parts[:0]
	for _, part := range parts {
		if !namesKey(part) {
			kept = append(kept, part)
		}
	}
	if len(kept) == len(parts) {
		return rawQuery
	}
	return strings.Join(kept, "&")
}

// namesKey reports whether a query part is, or hides, a `key` parameter.
func namesKey(part string) bool {
	for p := range strings.SplitSeq(part, ";") {
		name, _, _ := strings.Cut(p, "=")
		if name == "key" {
			return true
		}
		if strings.ContainsAny(name, "%+") {
			if n, err := url.QueryUnescape(name); err == nil && n == "key" {
				return true
			}
		}
	}
	return false
}
