package tracing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/internal/testkit/testenv"
	"aether/internal/tracing"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func record(context.Context) error { return nil }

// joined runs a local activity, as workflows.Request does.
func joined(ctx workflow.Context) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteLocalActivity(ctx, record).Get(ctx, nil)
}

// TestWorkflowJoinsTrace starts a workflow on the real Temporal dev server
// the way the shipper does (a journaled traceparent as the start's remote
// parent, TemporalInterceptor on the client) and runs it on a worker with
// the same interceptor: the start, the workflow and its local activity are
// spans of the request's trace.
func TestWorkflowJoinsTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ti, err := tracing.TemporalInterceptor(tp)
	if err != nil {
		t.Fatal(err)
	}
	addr, ns := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns, Interceptors: []interceptor.ClientInterceptor{ti}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "tracing-" + t.Name()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(joined)
	w.RegisterActivity(record)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"})
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, joined)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"StartWorkflow:joined": false, "RunWorkflow:joined": false, "RunActivity:record": false}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var names []string
		for _, s := range exp.GetSpans() {
			names = append(names, s.Name+"@"+s.SpanContext.TraceID().String())
			if _, ok := want[s.Name]; ok && s.SpanContext.TraceID().String() == traceID {
				want[s.Name] = true
			}
		}
		missing := false
		for _, ok := range want {
			missing = missing || !ok
		}
		if !missing {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans in the request's trace %v; all spans: %s", want, strings.Join(names, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
