package httpapi_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// TestTracing sends requests through the real router with an in-memory
// span exporter: each request gets one "chat {model}" span with the GenAI
// attributes and its usage, one child span per upstream attempt (two after
// a failover), no prompt, completion or key in any attribute, and its
// traceparent journaled in the request's start.
func TestTracing(t *testing.T) {
	t.Parallel()
	const prompt = "TRACE-PROMPT-MARKER-7f3a"
	for _, tt := range []struct {
		name     string
		knobs    map[string]fakeupstream.Knobs
		attempts int
	}{
		{"one attempt", nil, 1},
		{"failover", map[string]fakeupstream.Knobs{"k-openai-primary": {Status: 500}}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(ctxT(t)) })
			g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{ByKey: tt.knobs}, TracerProvider: tp})
			resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`+prompt+`"}]}`, gatewaytest.Bearer())
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var completion struct {
				Choices []struct{ Message struct{ Content string } }
			}
			_ = json.Unmarshal(body, &completion)
			id := resp.Header.Get("X-Request-ID")
			rec := g.Finished(t, id)

			// The request span ends after the response is written: wait for it.
			var req tracetest.SpanStub
			deadline := time.Now().Add(10 * time.Second)
			for req.Name == "" && time.Now().Before(deadline) {
				for _, s := range exp.GetSpans() {
					if s.Name == "chat gpt-4o-mini" {
						req = s
					}
				}
				if req.Name == "" {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if req.Name == "" {
				t.Fatalf("no request span among %d spans", len(exp.GetSpans()))
			}
			attrs := attrMap(req.Attributes)
			for k, want := range map[string]any{
				"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
				"gen_ai.provider.name": "p-openai", "aether.request_id": id, "http.response.status_code": int64(200),
				"aether.attempts":            int64(tt.attempts),
				"gen_ai.usage.input_tokens":  rec.Outcome.Usage.PromptTokens(),
				"gen_ai.usage.output_tokens": rec.Outcome.Usage.OutputTokens,
			} {
				if got := attrs[k]; got != want {
					t.Errorf("%s = %v (%T), want %v", k, got, got, want)
				}
			}
			for _, k := range []string{"gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens"} {
				if _, ok := attrs[k]; !ok {
					t.Errorf("no %s", k)
				}
			}
			if rec.Outcome.Usage.OutputTokens == 0 {
				t.Error("the fake upstream reported no usage")
			}
			if _, ok := attrs["error.type"]; ok {
				t.Errorf("error.type on a completed request: %v", attrs["error.type"])
			}
			if req.SpanKind != trace.SpanKindServer {
				t.Errorf("request span kind %v", req.SpanKind)
			}

			var attempts []tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.Parent.SpanID() == req.SpanContext.SpanID() {
					attempts = append(attempts, s)
				}
				for _, a := range s.Attributes {
					v := a.Value.String()
					if strings.Contains(v, prompt) || strings.Contains(v, "k-openai-") || strings.Contains(v, gatewaytest.Key) ||
						len(completion.Choices) > 0 && len(completion.Choices[0].Message.Content) > 3 && strings.Contains(v, completion.Choices[0].Message.Content) {
						t.Errorf("span %q attribute %s carries request content or a key: %q", s.Name, a.Key, v)
					}
				}
			}
			if len(attempts) != tt.attempts {
				t.Fatalf("%d attempt spans, want %d", len(attempts), tt.attempts)
			}
			last := attrMap(attempts[len(attempts)-1].Attributes)
			if last["gen_ai.provider.name"] != "p-openai" || last["http.response.status_code"] != int64(200) || last["aether.provider_key.id"] == nil {
				t.Errorf("answering attempt's attributes: %v", last)
			}
			if tt.attempts == 2 {
				first := attrMap(attempts[0].Attributes)
				if first["error.type"] != string(llm.ErrUpstreamServer) || first["http.response.status_code"] != int64(500) {
					t.Errorf("failed attempt's attributes: %v", first)
				}
			}

			// The journaled start carries the request span's traceparent.
			want := "00-" + req.SpanContext.TraceID().String() + "-" + req.SpanContext.SpanID().String() + "-01"
			if rec.Meta.TraceParent != want {
				t.Errorf("journaled traceparent %q, want %q", rec.Meta.TraceParent, want)
			}
		})
	}
}

// TestTracingOff: without a tracer nothing is traced and no traceparent is
// journaled.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	resp := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, gatewaytest.Bearer())
	_, _ = io.Copy(io.Discard, resp.Body)
	if rec := g.Finished(t, resp.Header.Get("X-Request-ID")); rec.Meta.TraceParent != "" {
		t.Fatalf("traceparent %q with tracing off", rec.Meta.TraceParent)
	}
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
