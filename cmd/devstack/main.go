// Command devstack is `make dev`: the whole Aether stack on one machine,
// with working defaults, until Ctrl-C.
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
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := devstack.Start(ctx, devstack.Options{Root: root})
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
	err = s.Wait(ctx)
	fmt.Println("\nStopping Aether...")
	s.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
	fmt.Println("Stopped. Data is kept in .dev/; the next `make dev` reuses it.")
}
