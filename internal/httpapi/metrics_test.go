package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// nullTemporal accepts every start and signal, for tests that need the
// journal and shipper but not a Temporal server.
type nullTemporal struct{}

func (nullTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}
func (nullTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}
func (nullTemporal) SignalWorkflow(context.Context, string, string, string, any) error { return nil }
func (nullTemporal) DescribeWorkflow(context.Context, string, string) (*client.WorkflowExecutionDescription, error) {
	return &client.WorkflowExecutionDescription{}, nil
}

// TestMetricsExposed sends traffic (a success, a failover, a refusal) and
// reads /metrics: the documented names are there with bounded labels.
func TestMetricsExposed(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Journal: true, Temporal: nullTemporal{},
		Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-anthropic-primary": {Status: 503}}}})
	if resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`, gatewaytest.Bearer()); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	} else {
		_, _ = io.ReadAll(resp.Body)
	}
	if resp := g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5}`, map[string]string{"x-api-key": gatewaytest.Key}); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{
		`aether_requests_total{format="openai",model="gpt-4o-mini",provider="p-openai",status_class="2xx"} 1`,
		`aether_requests_total{format="anthropic",model="claude-sonnet-4-5",provider="p-anthropic",status_class="2xx"} 1`,
		`aether_upstream_attempts_total{format="anthropic",provider="p-anthropic",result="upstream_5xx"} 1`,
		`aether_failovers_total{provider="p-anthropic",reason="upstream_5xx"} 1`,
		`aether_tokens_total{bucket="cache_read",model="gpt-4o-mini"} 17`,
		`aether_time_to_first_byte_seconds_count{format="openai",model="gpt-4o-mini"} 1`,
		`aether_request_duration_seconds_count{format="anthropic",model="claude-sonnet-4-5"} 1`,
		`aether_breaker_keys{provider="p-anthropic",state="closed"} 2`,
		"aether_journal_unshipped_entries",
		"aether_journal_oldest_unshipped_seconds",
		"aether_ship_errors_total",
		"aether_config_version",
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{gatewaytest.Key, "k-openai-primary", "tester"} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}
}
