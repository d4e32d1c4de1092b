package upstream

import (
	"context"
	"net/http"
	"testing"

	"aether/internal/llm"
)

type bearerDialect struct{ llm.Dialect }

func (bearerDialect) SetAuth(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

// TestBuildDropsHopByHopHeaders: hop-by-hop headers (RFC 9110 7.6.1, as
// httputil.ReverseProxy drops them), Expect, every Proxy-* header and every
// header the client's Connection header names stay on the client's hop;
// end-to-end headers are forwarded.
func TestBuildDropsHopByHopHeaders(t *testing.T) {
	client := http.Header{
		"Connection":          {"keep-alive, X-Hop-A", "x-hop-b"},
		"X-Hop-A":             {"a"},
		"X-Hop-B":             {"b"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic eDp5"},
		"Proxy-Connection":    {"keep-alive"},
		"Proxy-Anything":      {"1"},
		"Te":                  {"trailers"},
		"Trailer":             {"X-T"},
		"Transfer-Encoding":   {"chunked"},
		"Upgrade":             {"websocket"},
		"Expect":              {"100-continue"},
		"Anthropic-Version":   {"2023-06-01"},
		"X-Kept":              {"yes"},
	}
	req, err := Build(context.Background(), Request{BaseURL: "http://upstream", Path: "/v1/messages", Client: client, Dialect: bearerDialect{}, Key: "k", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	for name := range client {
		kept := name == "Anthropic-Version" || name == "X-Kept"
		if got := req.Header.Get(name) != ""; got != kept {
			t.Errorf("%s forwarded = %v, want %v", name, got, kept)
		}
	}
}
