// Command worker runs Aether's Temporal worker: the request workflows that
// record every proxied request in Postgres.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"aether/internal/config"
	"aether/internal/logging"
	"aether/internal/workerapp"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aether-worker:", err)
		os.Exit(2)
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := workerapp.Run(ctx, cfg, log); err != nil && ctx.Err() == nil {
		log.Error("worker failed", "error", err)
		os.Exit(1)
	}
}
