package devstack

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"aether/internal/testkit/temporaldev"
)

// Main is the whole of cmd/devstack and cmd/prodstack: it starts a stack
// with start from the module root, waits for Ctrl-C or SIGTERM (or a child
// left down), stops the stack and exits, printing stopped on a clean stop.
// name prefixes the errors.
func Main(name string, start func(context.Context, Options) (*Stack, error), stopped string) {
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := start(ctx, Options{Root: root})
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	err = s.Wait(ctx)
	fmt.Println("\nStopping Aether...")
	s.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	fmt.Println(stopped)
}
