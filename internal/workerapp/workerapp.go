// Package workerapp wires the worker process: Postgres, the Temporal
// client and worker with Aether's workflows and activities, and a small
// HTTP server for /healthz and /metrics.
package workerapp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/internal/config"
	"aether/internal/pricing"
	"aether/internal/store"
	"aether/internal/temporalx"
	"aether/workflows"
)

// Run starts the worker and blocks until ctx ends, then stops it
// gracefully (in-flight tasks finish).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if applied, err := st.Migrate(ctx); err != nil {
		return err
	} else if len(applied) > 0 {
		log.Info("database migrated", "versions", applied)
	}

	var c client.Client
	for attempt := 0; ; attempt++ {
		c, err = client.DialContext(ctx, temporalx.Options(cfg.TemporalAddress, cfg.TemporalNamespace, log))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt%10 == 0 {
			log.Warn("waiting for Temporal", "address", cfg.TemporalAddress, "error", err)
		}
		time.Sleep(time.Second)
	}
	defer c.Close()
	if err := temporalx.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		log.Warn("search attributes not registered; workflows will fail to start until they are", "error", err)
	}

	w := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentWorkflowTaskExecutionSize:  64,
		MaxConcurrentLocalActivityExecutionSize: 64,
		MaxConcurrentWorkflowTaskPollers:        16,
		WorkflowPanicPolicy:                     worker.BlockWorkflow,
	})
	Register(w, &activities.Activities{Store: st, Prices: pricing.Defaults(), Logger: log})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Pool.Ping(r.Context()); err != nil {
			http.Error(w, `{"status":"database unreachable"}`, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	srv := &http.Server{Addr: cfg.WorkerListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker HTTP server", "error", err)
		}
	}()
	defer srv.Close()

	if err := w.Start(); err != nil {
		return err
	}
	log.Info("worker started", "task_queue", cfg.TaskQueue, "namespace", cfg.TemporalNamespace, "http", cfg.WorkerListen)
	<-ctx.Done()
	log.Info("worker stopping")
	w.Stop()
	return nil
}

// Register adds Aether's workflows and activities to a worker (also used
// by tests and the replayer).
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Request, workflow.RegisterOptions{Name: workflows.RequestWorkflow})
	w.RegisterActivity(a)
}
