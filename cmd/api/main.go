// Command api runs Aether's HTTP front end: the OpenAI, Anthropic and
// Gemini compatible gateway.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"aether/internal/apiserver"
	"aether/internal/config"
	"aether/internal/logging"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aether-api:", err)
		os.Exit(2)
	}
	logw := logging.NewAsyncWriter(os.Stderr)
	defer logw.Close()
	log := logging.New(logw, cfg.LogLevel, cfg.LogFormat)
	if cfg.MemoryLimit > 0 {
		// Soft limit: the GC works harder near it, and freed memory goes
		// back to the OS, after a burst of large request bodies.
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.PprofListen != "" {
		go servePprof(cfg.PprofListen, log)
	}
	if err := run(ctx, cfg, log); err != nil {
		log.Error("API failed", "error", err)
		logw.Close()
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	srv, err := apiserver.New(ctx, cfg, log, apiserver.Deps{})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx)
}

// servePprof serves Go's profiler on its own listener (AETHER_PPROF_LISTEN),
// never on the gateway's router.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("pprof server failed", "error", err)
	}
}
