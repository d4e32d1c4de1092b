// Package logging builds the process's slog logger. Fixed keys across the
// tree: request_id, provider, model, error. Bodies and
// secrets are never logged.
package logging

import (
	"io"
	"log/slog"
	"sync"
	"time"
)

// New returns a JSON or text logger at level.
func New(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// AsyncWriter buffers log lines and writes them in the background every
// interval (or when the buffer fills), so a request never waits on a write
// to a terminal, a pipe or a file. A crash can lose the last interval of
// log lines — never accounting, which has its own journal.
type AsyncWriter struct {
	mu       sync.Mutex
	buf      []byte
	out      io.Writer
	limit    int
	done     chan struct{}
	stopped  chan struct{}
	interval time.Duration
}

// NewAsyncWriter starts a writer that flushes to out every 50 ms.
func NewAsyncWriter(out io.Writer) *AsyncWriter {
	a := &AsyncWriter{out: out, limit: 256 << 10, done: make(chan struct{}), stopped: make(chan struct{}), interval: 50 * time.Millisecond}
	go a.loop()
	return a
}

// Write queues p; it writes synchronously only when the buffer is full.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	a.buf = append(a.buf, p...)
	full := len(a.buf) >= a.limit
	a.mu.Unlock()
	if full {
		a.Flush()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (a *AsyncWriter) Flush() {
	a.mu.Lock()
	b := a.buf
	a.buf = nil
	a.mu.Unlock()
	if len(b) > 0 {
		_, _ = a.out.Write(b)
	}
}

func (a *AsyncWriter) loop() {
	defer close(a.stopped)
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.Flush()
		case <-a.done:
			a.Flush()
			return
		}
	}
}

// Close flushes and stops the background writer.
func (a *AsyncWriter) Close() error {
	select {
	case <-a.done:
	default:
		close(a.done)
	}
	<-a.stopped
	return nil
}
