package fakeupstream_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"aether/internal/testkit/fakeupstream"
)

// A test points its client at an httptest server; keys pick per-key knobs
// and X-Fake-* headers override them for one request.
func ExampleNew() {
	fake := fakeupstream.New(fakeupstream.Config{
		ByKey: map[string]fakeupstream.Knobs{"k-bad": {Status: http.StatusTooManyRequests}},
	})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()

	for _, key := range []string{"k-bad", "k-good"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages/count_tokens",
			strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[]}`))
		req.Header.Set("x-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(key, resp.StatusCode, string(body))
	}
	fmt.Println(fake.CountKey("k-bad"), fakeupstream.ExpectedText(fakeupstream.DefaultChunks))
	// Output:
	// k-bad 429 {"type":"error","error":{"type":"rate_limit_error","message":"fakeupstream: injected error (status 429)"}}
	// k-good 200 {"input_tokens":35}
	// 1 Hello "fake" wörld.
}
