package apiserver

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"aether/internal/config"
)

// tracer returns the proxy's tracer: tp's when a test injects one, an
// OTLP/HTTP exporter's when OTEL_* configures one (the exporter reads its
// endpoint, headers and timeout from the standard variables itself), and
// nil, which turns tracing off, otherwise.
func (s *Server) tracer(ctx context.Context, cfg config.Tracing, tp trace.TracerProvider) (trace.Tracer, error) {
	if tp == nil && !cfg.Enabled {
		return nil, nil
	}
	if tp == nil {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		res := sdkresource.NewSchemaless(attribute.String("service.name", cfg.ServiceName))
		sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		s.closers = append(s.closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = sdk.Shutdown(sctx) // flushes the spans still queued
		})
		tp = sdk
		s.log.Info("exporting OpenTelemetry traces (OTLP/HTTP)", "service", cfg.ServiceName)
	}
	return tp.Tracer("aether/proxy"), nil
}
