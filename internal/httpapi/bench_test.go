package httpapi_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/memrecorder"
	"aether/internal/upstream"
)

// BenchmarkGateway measures one small request through the whole in-process
// gateway (router, auth, routing, proxy, relay, usage, accounting hand-off)
// against the simulated upstream on loopback, next to the same request
// sent to the upstream directly.
func BenchmarkGateway(b *testing.B) {
	opts := gatewaytest.Options{Fake: fakeupstream.Config{RecordLimit: -1}}
	if os.Getenv("AETHER_BENCH_STDLIB_TRANSPORT") != "" {
		opts.Transport = upstream.NewTransport()
	}
	g := gatewaytest.New(b, opts)
	g.Recorder = nil
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cases := []struct {
		name, url, key, body string
	}{
		{"direct/non-stream", g.FakeURL + "/v1/chat/completions", "k", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`},
		{"gateway/non-stream", g.URL + "/v1/chat/completions", gatewaytest.Key, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`},
		{"direct/stream", g.FakeURL + "/v1/chat/completions", "k", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"gateway/stream", g.URL + "/v1/chat/completions", gatewaytest.Key, `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(c.body))
				req.Header.Set("Authorization", "Bearer "+c.key)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
			}
		})
	}
}

var _ = memrecorder.New
