package proxy

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"aether/internal/llm"
	"aether/internal/upstream"
)

// Tracing: with a tracer configured (Config.Tracer), each proxied request
// gets one span following the OpenTelemetry GenAI conventions for an
// inference ("chat {model}") and one child span per upstream attempt.
// Spans carry names, IDs, counts, classes and timings only: never a
// prompt, a completion or a key's secret. With no tracer every helper
// here is a nil check and nothing else.

// GenAI semantic-convention attribute keys (and the gateway's own).
const (
	attrOperation      = attribute.Key("gen_ai.operation.name")
	attrProvider       = attribute.Key("gen_ai.provider.name")
	attrRequestModel   = attribute.Key("gen_ai.request.model")
	attrResponseModel  = attribute.Key("gen_ai.response.model")
	attrInputTokens    = attribute.Key("gen_ai.usage.input_tokens")
	attrOutputTokens   = attribute.Key("gen_ai.usage.output_tokens")
	attrCacheRead      = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	attrCacheWrite     = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	attrReasoning      = attribute.Key("gen_ai.usage.reasoning.output_tokens")
	attrFirstChunk     = attribute.Key("gen_ai.response.time_to_first_chunk")
	attrErrorType      = attribute.Key("error.type")
	attrHTTPStatus     = attribute.Key("http.response.status_code")
	attrRequestID      = attribute.Key("aether.request_id")
	attrFormat         = attribute.Key("aether.format")
	attrStream         = attribute.Key("aether.stream")
	attrAttempts       = attribute.Key("aether.attempts")
	attrKeyID          = attribute.Key("aether.provider_key.id")
	attrAttemptOutcome = attribute.Key("aether.attempt.outcome")
	attrUpstreamAPI    = attribute.Key("aether.upstream_api")
)

// reqTrace is the request span; nil when tracing is off, and every method
// accepts a nil receiver.
type reqTrace struct {
	tracer  trace.Tracer
	span    trace.Span
	errType string
}

// traceRequest starts the request span as a child of the client's W3C
// trace context, if it sent one, and returns r with the span in its
// context. Nil tracer: r unchanged and a nil reqTrace.
func (p *Proxy) traceRequest(r *http.Request, in *Inbound) (*http.Request, *reqTrace) {
	if p.cfg.Tracer == nil {
		return r, nil
	}
	ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	op := operationName(in.Operation)
	ctx, span := p.cfg.Tracer.Start(ctx, op+" "+in.Model, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(in.Received),
		trace.WithAttributes(attrOperation.String(op), attrRequestModel.String(in.Model),
			attrRequestID.String(in.RequestID), attrFormat.String(string(in.Dialect.Format())), attrStream.Bool(in.Stream)))
	return r.WithContext(ctx), &reqTrace{tracer: p.cfg.Tracer, span: span}
}

// operationName is the GenAI operation name of an operation.
func operationName(op llm.Operation) string {
	if op == llm.OpGenerate {
		return "chat"
	}
	return string(op)
}

// refused notes why the gateway answered without an attempt.
func (t *reqTrace) refused(reason string) {
	if t != nil {
		t.errType = reason
	}
}

// traceParent is the W3C traceparent of the request span, journaled with
// the request so the accounting workflow joins its trace; "" when off.
func (t *reqTrace) traceParent() string {
	if t == nil {
		return ""
	}
	sc := t.span.SpanContext()
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c["traceparent"]
}

// finish records the outcome on the request span.
func (t *reqTrace) finish(out llm.Outcome, answered llm.Candidate, ok bool) {
	if t == nil {
		return
	}
	s := t.span
	s.SetAttributes(attrHTTPStatus.Int(out.StatusCode), attrAttempts.Int(len(out.Attempts)))
	if ok {
		s.SetAttributes(attrProvider.String(answered.Provider), attrResponseModel.String(answered.UpstreamModel))
	}
	if u := out.Usage; u.Known {
		s.SetAttributes(attrInputTokens.Int64(u.PromptTokens()), attrOutputTokens.Int64(u.OutputTokens),
			attrCacheRead.Int64(u.CacheReadTokens), attrCacheWrite.Int64(u.CacheWrite5mTokens+u.CacheWrite1hTokens),
			attrReasoning.Int64(u.ReasoningTokens))
	}
	if out.FirstByte > 0 {
		s.SetAttributes(attrFirstChunk.Float64(out.FirstByte.Seconds()))
	}
	if out.ErrorClass != llm.ErrNone {
		t.errType = string(out.ErrorClass)
	}
}

// end ends the request span (deferred, so it also ends on an abort).
func (t *reqTrace) end() {
	if t == nil {
		return
	}
	if t.errType != "" {
		t.span.SetAttributes(attrErrorType.String(t.errType))
		t.span.SetStatus(codes.Error, t.errType)
	}
	t.span.End()
}

// attempt starts the span of one upstream attempt.
func (t *reqTrace) attempt(ctx context.Context, c llm.Candidate) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	ctx, span := t.tracer.Start(ctx, "attempt "+c.Provider, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrProvider.String(c.Provider), attrKeyID.Int64(c.KeyID), attrRequestModel.String(c.UpstreamModel)))
	if c.UpstreamAPI != "" {
		span.SetAttributes(attrUpstreamAPI.String(c.UpstreamAPI))
	}
	return ctx, span
}

// endAttempt records how an attempt ended and ends its span.
func endAttempt(s trace.Span, res attemptResult, v upstream.Verdict) {
	if s == nil {
		return
	}
	if res.status != 0 {
		s.SetAttributes(attrHTTPStatus.Int(res.status))
	}
	s.SetAttributes(attrAttemptOutcome.String(v.Outcome))
	if res.class != llm.ErrNone {
		s.SetAttributes(attrErrorType.String(string(res.class)))
		s.SetStatus(codes.Error, string(res.class))
	}
	s.End()
}
