package apiserver

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"aether/internal/config"
	"aether/internal/tracing"
)

// tracerProvider returns tp when a test injects one, an OTLP exporter's
// when OTEL_* configures one, and nil, which turns tracing off, otherwise.
func (s *Server) tracerProvider(ctx context.Context, cfg config.Tracing, tp trace.TracerProvider) (trace.TracerProvider, error) {
	if tp != nil {
		return tp, nil
	}
	sdk, err := tracing.Provider(ctx, cfg, "aether-api")
	if err != nil || sdk == nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { tracing.Shutdown(sdk) })
	s.log.Info("exporting OpenTelemetry traces (OTLP/HTTP)")
	return sdk, nil
}
