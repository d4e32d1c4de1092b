// Command api runs Aether's HTTP front end: the OpenAI, Anthropic and
// Gemini compatible gateway.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := apiserver.New(ctx, cfg, log, apiserver.Deps{})
	if err != nil {
		log.Error("start-up failed", "error", err)
		os.Exit(1)
	}
	defer srv.Close()
	if err := srv.Run(ctx); err != nil {
		log.Error("API failed", "error", err)
		os.Exit(1)
	}
}
