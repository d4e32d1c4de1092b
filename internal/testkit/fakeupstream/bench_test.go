package fakeupstream_test

import (
	"net/http"
	"strings"
	"testing"

	"aether/internal/testkit/fakeupstream"
)

// discardWriter is a flushable ResponseWriter that keeps nothing, so the
// benchmarks measure the handler rather than a recorder's buffer.
type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
func (w *discardWriter) Flush()                      {}

func BenchmarkServeHTTP(b *testing.B) {
	benchmarks := []struct {
		name, path, body string
		header           string
	}{
		{name: "openai chat json", path: "/v1/chat/completions", body: chatBody, header: "Authorization"},
		{name: "openai chat stream", path: "/v1/chat/completions", body: chatStream, header: "Authorization"},
		{name: "openai responses stream", path: "/v1/responses", body: respStream, header: "Authorization"},
		{name: "anthropic stream", path: "/v1/messages", body: messageStream, header: "X-Api-Key"},
		{name: "gemini stream", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: geminiBody, header: "X-Goog-Api-Key"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			fake := fakeupstream.New(fakeupstream.Config{RecordLimit: -1, Knobs: fakeupstream.Knobs{Chunks: 20}})
			value := "k"
			if bm.header == "Authorization" {
				value = "Bearer k"
			}
			w := &discardWriter{h: http.Header{}}
			body := strings.NewReader(bm.body)
			req, err := http.NewRequest(http.MethodPost, "http://fake"+bm.path, body)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set(bm.header, value)
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(bm.body)
				clear(w.h)
				fake.ServeHTTP(w, req)
			}
			b.SetBytes(int64(w.n / max(b.N, 1)))
		})
	}
}
