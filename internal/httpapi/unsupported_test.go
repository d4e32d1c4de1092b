package httpapi_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// TestUnsupportedNotCountedAgainstKey: a 400 that reads like a provider
// limitation ("... does not exist", "... is not supported") still fails
// over, since another provider may accept the request, but it never counts
// against the key. Provider error messages quote the request, so a client
// can make its own bad request read that way; before the fix such 400s
// were upstream_other, counted against the key, and a client could open
// the breaker for everyone.
func TestUnsupportedNotCountedAgainstKey(t *testing.T) {
	t.Parallel()
	// An Anthropic 400 quoting the client's text back.
	body := `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0.content.0.text: 'the tool my_tool does not exist' is not supported"}}`
	g := gatewaytest.New(t, gatewaytest.Options{
		Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-anthropic-primary": {Status: 400, ErrorBody: body}}},
		Config: func(c *config.Config) {
			c.BreakerMinReqs, c.BreakerRatio, c.BreakerOpenFor = 2, 0.5, time.Minute
			c.AffinityTTL = time.Nanosecond // affinity would stick to the backup after its first success
		},
	})
	var primaryID int64
	for i := range 4 {
		resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"the tool my_tool does not exist"}]}`,
			map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || strings.Contains(string(got), "is not supported") {
			t.Fatalf("request %d: client got %d %s", i, resp.StatusCode, got)
		}
		out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
		if len(out.Attempts) != 2 {
			t.Fatalf("request %d: attempts %+v, want a failover to the backup (the open breaker skipped the primary?)", i, out.Attempts)
		}
		first, second := out.Attempts[0], out.Attempts[1]
		if first.ErrorClass != llm.ErrUpstreamUnsupported || first.Outcome != llm.OutcomeFailed || first.StatusCode != 400 || second.Outcome != llm.OutcomeSuccess {
			t.Fatalf("request %d: attempts %+v, want the first failed with %s", i, out.Attempts, llm.ErrUpstreamUnsupported)
		}
		if len(out.BreakerChanges) != 0 {
			t.Fatalf("request %d: breaker changes %+v", i, out.BreakerChanges)
		}
		primaryID = first.KeyID
	}
	if s := g.Server.Breakers.State(primaryID); s != "closed" {
		t.Fatalf("primary key's breaker %s after 4 quoted-text 400s", s)
	}
}
