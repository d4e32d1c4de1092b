// Package tracing builds the OpenTelemetry trace export of the API and the
// worker from config.Tracing, and the Temporal SDK interceptor that
// carries a trace from the shipper's workflow start into the workflow and
// its activities. Off (no OTEL_* endpoint), nothing here is built.
package tracing

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"aether/internal/config"
)

// Provider returns an SDK tracer provider exporting OTLP/HTTP when cfg is
// enabled, nil otherwise. The exporter reads its endpoint, headers,
// timeout and TLS settings from the standard OTEL_EXPORTER_OTLP_*
// variables itself. service names the process when OTEL_SERVICE_NAME is
// unset. Shutdown (Shutdown below) flushes the spans still queued.
func Provider(ctx context.Context, cfg config.Tracing, service string) (*sdktrace.TracerProvider, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	if cfg.ServiceName != "" {
		service = cfg.ServiceName
	}
	res := sdkresource.NewSchemaless(attribute.String("service.name", service))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Shutdown flushes and stops tp within a few seconds.
func Shutdown(tp *sdktrace.TracerProvider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tp.Shutdown(ctx)
}

// TemporalInterceptor is the Temporal SDK's OpenTelemetry interceptor on
// tp: on a client it puts the caller's span context in the workflow
// start's header; on a worker it continues that trace in the workflow and
// its activities. It adds headers and spans, never workflow commands.
func TemporalInterceptor(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: tp.Tracer("aether/temporal")})
}
