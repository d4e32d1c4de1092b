package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/memrecorder"
)

// TestFailover makes the primary key fail in each way that must move on to
// the next candidate; the backup key answers. The client sees one clean
// response and the attempts are reported.
func TestFailover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		knobs  fakeupstream.Knobs
		stream bool
		class  llm.ErrorClass
		status int
	}{
		{"500", fakeupstream.Knobs{Status: 500}, false, llm.ErrUpstreamServer, 500},
		{"429 with retry-after", fakeupstream.Knobs{Status: 429, RetryAfter: time.Second}, false, llm.ErrRateLimited, 429},
		{"401 bad provider key", fakeupstream.Knobs{Status: 401}, false, llm.ErrUpstreamAuth, 401},
		{"529 overloaded stream", fakeupstream.Knobs{Status: 529}, true, llm.ErrUpstreamServer, 529},
		{"hangs past first-byte timeout", fakeupstream.Knobs{Hang: true}, true, llm.ErrFirstByte, 0},
		{"slow first event", fakeupstream.Knobs{FirstEventDelay: time.Hour}, true, llm.ErrFirstByte, 0},
		{"embedded error event", fakeupstream.Knobs{EmbeddedError: true}, true, llm.ErrEmbedded, 200},
		{"HTML page", fakeupstream.Knobs{HTML: true, Status: 200}, false, llm.ErrHTMLPage, 200},
		{"HTML page on stream", fakeupstream.Knobs{HTML: true, Status: 200}, true, llm.ErrHTMLPage, 200},
		{"HTML 502", fakeupstream.Knobs{HTML: true}, false, llm.ErrHTMLPage, 502},
		{"cut before first event", fakeupstream.Knobs{CutAfter: fakeupstream.Zero}, true, llm.ErrStreamCut, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.New(t, gatewaytest.Options{
				Fake:   fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-openai-primary": tt.knobs}},
				Config: func(c *config.Config) { c.FirstByteTimeout = 300 * time.Millisecond },
			})
			c := openAIClient(g)
			params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var resp *http.Response
			var text string
			if tt.stream {
				s := c.Chat.Completions.NewStreaming(ctxT(t), params, ooption.WithResponseInto(&resp))
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				text = acc.Choices[0].Message.Content
			} else {
				got, err := c.Chat.Completions.New(ctxT(t), params, ooption.WithResponseInto(&resp))
				if err != nil {
					t.Fatal(err)
				}
				text = got.Choices[0].Message.Content
			}
			if text != want {
				t.Fatalf("client got %q", text)
			}
			rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
			out := rec.Outcome
			if out.Status != llm.StatusCompleted || len(out.Attempts) != 2 {
				t.Fatalf("outcome %s with attempts %+v", out.Status, out.Attempts)
			}
			first, second := out.Attempts[0], out.Attempts[1]
			if first.Outcome != llm.OutcomeFailed || first.ErrorClass != tt.class || first.StatusCode != tt.status {
				t.Errorf("first attempt = %+v, want class %s status %d", first, tt.class, tt.status)
			}
			if second.Outcome != llm.OutcomeSuccess || rec.Plan[second.CandidateIndex].KeyName != "backup" {
				t.Errorf("second attempt = %+v", second)
			}
			if out.Usage != openAIUsage {
				t.Errorf("usage %+v", out.Usage)
			}
			if n := g.Fake.CountKey("k-openai-backup"); n != 1 {
				t.Errorf("backup key called %d times", n)
			}
		})
	}
}

// TestClientErrorNotFailedOver: a 400 the upstream classifies as the
// request's fault goes back to the client unchanged, once, and does not
// count against the key.
func TestClientErrorNotFailedOver(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{
		"k-anthropic-primary": {Status: 400, ErrorType: "invalid_request_error", ErrorMessage: "prompt is too long: 250000 tokens > 200000 maximum"},
	}}})
	resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "prompt is too long") || !strings.Contains(string(body), `"type":"error"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if g.Fake.CountKey("k-anthropic-backup") != 0 {
		t.Fatal("a client error was failed over")
	}
	out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
	if out.Status != llm.StatusFailed || out.StatusCode != 400 || len(out.Attempts) != 1 || out.Attempts[0].Outcome != llm.OutcomeClientError {
		t.Fatalf("outcome %+v", out)
	}
	if g.Server.Breakers.State(out.Attempts[0].KeyID) != "closed" {
		t.Fatal("client error counted against the key")
	}
}

// TestBreaker opens the primary key's breaker after repeated failures,
// skips it while open, lets a probe through when half-open, and closes it
// once the key answers again. Each transition is reported to accounting.
func TestBreaker(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{
		Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-gemini-primary": {Status: 503}}},
		Config: func(c *config.Config) {
			c.BreakerMinReqs, c.BreakerRatio, c.BreakerOpenFor, c.BreakerProbes = 3, 0.5, time.Second, 1
			c.AffinityTTL = time.Nanosecond // affinity would otherwise stick to the backup after its first success
		},
	})
	send := func() memrecorder.Record {
		t.Helper()
		resp := g.Post(t, "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
			map[string]string{"x-goog-api-key": gatewaytest.Key})
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return g.Finished(t, resp.Header.Get("X-Request-ID"))
	}
	var opened []llm.BreakerChange
	for range 3 {
		rec := send()
		if len(rec.Outcome.Attempts) != 2 {
			t.Fatalf("attempts %+v", rec.Outcome.Attempts)
		}
		opened = append(opened, rec.Outcome.BreakerChanges...)
	}
	if len(opened) != 1 || opened[0].State != "open" || opened[0].OpenUntil.IsZero() {
		t.Fatalf("breaker changes after 3 failures: %+v", opened)
	}
	primaryID := opened[0].KeyID
	if g.Server.Breakers.State(primaryID) != "open" {
		t.Fatal("breaker not open")
	}
	// Open: the primary is skipped, with the reason recorded.
	before := g.Fake.CountKey("k-gemini-primary")
	rec := send()
	if g.Fake.CountKey("k-gemini-primary") != before || len(rec.Outcome.Attempts) != 1 {
		t.Fatalf("open breaker did not skip the key: attempts %+v", rec.Outcome.Attempts)
	}
	skipped := false
	for _, c := range rec.Plan {
		if c.KeyID == primaryID && c.SkippedReason == "breaker_open" {
			skipped = true
		}
	}
	if !skipped {
		t.Fatalf("plan does not record the skip: %+v", rec.Plan)
	}
	// The key recovers; after OpenFor the breaker half-opens, one probe
	// succeeds and closes it.
	g.Fake.SetKeyKnobs("k-gemini-primary", fakeupstream.Knobs{})
	time.Sleep(1100 * time.Millisecond)
	rec = send()
	if len(rec.Outcome.Attempts) != 1 || rec.Outcome.Attempts[0].KeyID != primaryID || rec.Outcome.Attempts[0].Outcome != llm.OutcomeSuccess {
		t.Fatalf("half-open probe: attempts %+v", rec.Outcome.Attempts)
	}
	if g.Server.Breakers.State(primaryID) != "closed" {
		t.Fatalf("breaker %s after a successful probe", g.Server.Breakers.State(primaryID))
	}
	if ch := rec.Outcome.BreakerChanges; len(ch) == 0 || ch[len(ch)-1].State != "closed" {
		t.Fatalf("closing not reported: %+v", ch)
	}
}

// TestClientDisconnectMidStream cancels a stream after the first events:
// the upstream is cancelled and the request is recorded as cancelled (499)
// with the usage seen so far, never an estimate.
func TestClientDisconnectMidStream(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 50, ChunkInterval: 50 * time.Millisecond}}})
	ctx, cancel := context.WithCancel(ctxT(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("x-api-key", gatewaytest.Key)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-ID")
	r := bufio.NewReader(resp.Body)
	deltas := 0
	for deltas < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "event: content_block_delta") {
			deltas++
		}
	}
	cancel()
	resp.Body.Close()
	out := g.Finished(t, id).Outcome
	if out.Status != llm.StatusCancelled || out.StatusCode != 499 || out.ErrorClass != llm.ErrClientCancelled {
		t.Fatalf("outcome %s %d %s", out.Status, out.StatusCode, out.ErrorClass)
	}
	// message_start carried input and cache counts and 1 output token;
	// the final output count never arrived and is not invented.
	wantPartial := llm.Usage{InputTokens: 13, CacheReadTokens: 17, CacheWrite5mTokens: 3, CacheWrite1hTokens: 2, OutputTokens: 1, Known: true}
	if out.Usage != wantPartial {
		t.Fatalf("partial usage %+v, want %+v", out.Usage, wantPartial)
	}
	if len(out.Attempts) != 1 || out.Attempts[0].Outcome != llm.OutcomeCancelled {
		t.Fatalf("attempts %+v", out.Attempts)
	}
	if g.Server.Breakers.State(out.Attempts[0].KeyID) != "closed" {
		t.Fatal("a client cancel counted against the key")
	}
}

// TestStreamCutAfterCommit: once bytes reached the client there is no
// failover; the connection is aborted and the request recorded failed.
func TestStreamCutAfterCommit(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{CutAfter: 3}}})
	resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}`, gatewaytest.Bearer())
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the client saw a clean end of a cut stream: %s", body)
	}
	if strings.Contains(string(body), `"error"`) {
		t.Fatalf("an error object was appended to a half-sent stream: %s", body)
	}
	out := g.Finished(t, resp.Header.Get("X-Request-ID")).Outcome
	if out.Status != llm.StatusFailed || out.ErrorClass != llm.ErrStreamCut || len(out.Attempts) != 1 {
		t.Fatalf("outcome %+v", out)
	}
	if g.Fake.CountKey("k-openai-backup") != 0 {
		t.Fatal("failed over after the first byte")
	}
}

func decode(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
