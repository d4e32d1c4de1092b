// Command fakeupstream serves the simulated LLM provider of
// internal/testkit/fakeupstream for the dev stack and benchmarks.
//
// Configuration comes from flags, defaulting to the environment:
//
//	AETHER_FAKE_LISTEN             listen address (default 127.0.0.1:9090)
//	AETHER_FAKE_CHUNKS             text deltas per response (default 3)
//	AETHER_FAKE_CHUNK_INTERVAL     delay between stream events, e.g. 20ms
//	AETHER_FAKE_FIRST_EVENT_DELAY  delay before the first event, e.g. 300ms
//
// Per-request X-Fake-* headers override these, as in tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"aether/internal/testkit/fakeupstream"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("fakeupstream failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	chunks, err := envInt("AETHER_FAKE_CHUNKS")
	if err != nil {
		return err
	}
	interval, err := envDuration("AETHER_FAKE_CHUNK_INTERVAL")
	if err != nil {
		return err
	}
	firstEvent, err := envDuration("AETHER_FAKE_FIRST_EVENT_DELAY")
	if err != nil {
		return err
	}
	listen := flag.String("listen", envOr("AETHER_FAKE_LISTEN", "127.0.0.1:9090"), "listen address")
	flag.IntVar(&chunks, "chunks", chunks, "text deltas per response (0: default 3)")
	flag.DurationVar(&interval, "chunk-interval", interval, "delay between stream events")
	flag.DurationVar(&firstEvent, "first-event-delay", firstEvent, "delay before the first stream event")
	flag.Parse()

	fake := fakeupstream.New(fakeupstream.Config{
		Knobs: fakeupstream.Knobs{
			Chunks:          chunks,
			ChunkInterval:   interval,
			FirstEventDelay: firstEvent,
		},
		RecordLimit: -1, // nobody reads the journal of a standalone server
		Logger:      logger,
	})
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("fakeupstream listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("fakeupstream shutting down")
	fake.Close() // release hanging and sleeping requests first
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a nonnegative integer, got %q", name, v)
	}
	return n, nil
}

func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}
