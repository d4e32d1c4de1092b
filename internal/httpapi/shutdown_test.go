package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"aether/internal/accounting/contract"
	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/gatewaytest"
)

// outcomeTemporal keeps the final outcome the shipper delivers for each
// request: what the request workflow would record.
type outcomeTemporal struct {
	mu       sync.Mutex
	outcomes map[string]llm.Outcome
}

func (o *outcomeTemporal) keep(id string, out *llm.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.outcomes[id]; !ok && out != nil {
		o.outcomes[id] = *out
	}
}

func (o *outcomeTemporal) get(id string) (llm.Outcome, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out, ok := o.outcomes[id]
	return out, ok
}

func (o *outcomeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	o.keep(opts.ID, args[0].(contract.RequestInput).Outcome)
	return nil, nil
}

func (o *outcomeTemporal) SignalWithStartWorkflow(_ context.Context, id, _ string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	o.keep(id, arg.(contract.Event).Outcome)
	return nil, nil
}

func (o *outcomeTemporal) SignalWorkflow(_ context.Context, id, _, _ string, arg any) error {
	o.keep(id, arg.(contract.Event).Outcome)
	return nil
}

func (o *outcomeTemporal) DescribeWorkflow(context.Context, string, string) (*client.WorkflowExecutionDescription, error) {
	return &client.WorkflowExecutionDescription{}, nil
}

// TestShutdownCutsLongStreamsAndRecordsThem: on shutdown, requests still
// running at the drain deadline are cut and recorded through the real
// journal as failed/shutdown, with the usage seen so far: a stream longer
// than AETHER_SHUTDOWN_TIMEOUT keeps its tokens (it is neither a 499 client
// cancel nor an interrupted request with zero tokens), and a request still
// waiting for its upstream's headers answers 503.
func TestShutdownCutsLongStreamsAndRecordsThem(t *testing.T) {
	t.Parallel()
	rec := &outcomeTemporal{outcomes: map[string]llm.Outcome{}}
	g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: rec,
		Config: func(c *config.Config) { c.ShutdownTimeout = time.Second }})

	// A 20-second stream (its message_start already carries usage).
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[]}`))
	req.Header.Set("X-Api-Key", gatewaytest.Key)
	req.Header.Set("X-Fake-Chunks", "400")
	req.Header.Set("X-Fake-Chunk-Interval", "50ms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	streamID := resp.Header.Get("X-Request-ID")
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode, err)
	}

	// A request whose upstream sends no headers for a minute.
	type answer struct {
		id     string
		status int
	}
	slow := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[]}`))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
		req.Header.Set("X-Fake-Header-Delay", "1m")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- answer{}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		slow <- answer{resp.Header.Get("X-Request-ID"), resp.StatusCode}
	}()
	for deadline := time.Now().Add(5 * time.Second); g.Fake.Count() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never reached the upstream")
		}
	}

	began := time.Now()
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	rest, err := io.ReadAll(br)
	if err == nil || strings.Contains(string(rest), "message_stop") {
		t.Fatalf("stream not cut at the shutdown deadline: err %v, %d bytes", err, len(rest))
	}
	if cut := time.Since(began); cut < 900*time.Millisecond || cut > 5*time.Second {
		t.Fatalf("stream cut after %s, want at the 1s drain deadline", cut)
	}
	a := <-slow
	if a.status != http.StatusServiceUnavailable {
		t.Errorf("request waiting on its upstream got %d at shutdown, want 503", a.status)
	}
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}

	for _, c := range []struct {
		name, id string
		tokens   bool
	}{{"stream", streamID, true}, {"waiting", a.id, false}} {
		out, ok := rec.get(c.id)
		if !ok {
			t.Errorf("%s: no final event reached accounting (the request would be recorded interrupted with zero tokens)", c.name)
			continue
		}
		if out.Status != llm.StatusFailed || out.ErrorClass != llm.ErrShutdown || out.StatusCode == 499 {
			t.Errorf("%s: recorded %s/%s (%d), want failed/shutdown, never 499", c.name, out.Status, out.ErrorClass, out.StatusCode)
		}
		if c.tokens && out.Usage.TotalTokens() == 0 {
			t.Errorf("%s: recorded with zero tokens, want the usage seen before the cut", c.name)
		}
		for _, at := range out.Attempts {
			if at.Outcome == llm.OutcomeFailed {
				t.Errorf("%s: the cut attempt was counted as the provider key's failure: %+v", c.name, at)
			}
		}
	}
}
