// Package logging builds the process's slog logger. Fixed keys across the
// tree: request_id, provider, model, error (STYLE.md rule 6). Bodies and
// secrets are never logged.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON or text logger at level.
func New(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
