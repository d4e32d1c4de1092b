// Command prodstack is `make prod-stack`: Aether on the production Temporal
// server with Postgres persistence and SQL visibility, two API replicas and
// two workers, on one machine, until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"aether/internal/devstack"
	"aether/internal/testkit/temporaldev"
)

func main() {
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prodstack:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := devstack.StartProd(ctx, devstack.Options{Root: root})
	if err != nil {
		fmt.Fprintln(os.Stderr, "prodstack:", err)
		os.Exit(1)
	}
	err = s.Wait(ctx)
	fmt.Println("\nStopping Aether...")
	s.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prodstack:", err)
		os.Exit(1)
	}
	fmt.Println("Stopped. Data is kept in .dev/prod/; the next `make prod-stack` reuses it.")
}
