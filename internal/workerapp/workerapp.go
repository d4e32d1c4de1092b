// Package workerapp wires the worker process: Postgres, the Temporal
// client and worker with Aether's workflows and activities, and a small
// HTTP server for /healthz and /metrics.
package workerapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"aether/activities"
	"aether/internal/accounting/contract"
	"aether/internal/config"
	"aether/internal/metrics"
	"aether/internal/pricing"
	"aether/internal/store"
	"aether/internal/temporalx"
	"aether/internal/tracing"
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
	reg := metrics.NewRegistry()
	sdkMetrics := metrics.TemporalHandler(reg)
	// With OTEL_* set, the workflow and its activities continue the trace
	// the API's request started (its header rides in the workflow start).
	tp, err := tracing.Provider(ctx, cfg.Tracing, "aether-worker")
	if err != nil {
		return err
	}
	var interceptors []interceptor.ClientInterceptor
	if tp != nil {
		defer tracing.Shutdown(tp)
		ti, err := tracing.TemporalInterceptor(tp)
		if err != nil {
			return err
		}
		interceptors = append(interceptors, ti)
		log.Info("exporting OpenTelemetry traces (OTLP/HTTP)")
	}
	for attempt := 0; ; attempt++ {
		opts := temporalx.Options(cfg.TemporalAddress, cfg.TemporalNamespace, log)
		opts.MetricsHandler = sdkMetrics
		opts.Interceptors = interceptors
		c, err = client.DialContext(ctx, opts)
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
	wm := metrics.NewWorker(reg)
	Register(w, &activities.Activities{
		Store: st, Prices: pricing.Defaults(), Logger: log,
		UnpricedHook: func(model string) { wm.Unpriced.WithLabelValues(model).Inc() },
		DeletedHook:  func(table string, n int64) { wm.Deleted.WithLabelValues(table).Add(float64(n)) },
		ResultHook: func(activity string, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			wm.Activities.WithLabelValues(activity, result).Inc()
		},
	})
	if err := EnsureSchedules(ctx, c, cfg); err != nil {
		log.Warn("housekeeping schedules not created; retention, rollups and monthly budget resets will not run", "error", err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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

// Register adds Aether's workflows (the request workflow and the three
// housekeeping ones) and its activities to the worker.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Request, workflow.RegisterOptions{Name: contract.RequestWorkflow})
	w.RegisterWorkflowWithOptions(workflows.Cleanup, workflow.RegisterOptions{Name: workflows.CleanupWorkflow})
	w.RegisterWorkflowWithOptions(workflows.Rollup, workflow.RegisterOptions{Name: workflows.RollupWorkflow})
	w.RegisterWorkflowWithOptions(workflows.BudgetReset, workflow.RegisterOptions{Name: workflows.BudgetResetWorkflow})
	w.RegisterActivity(a)
}

// EnsureSchedules creates (or updates) the Temporal Schedules of
// housekeeping: the daily rollup, the daily retention cleanup and the
// monthly budget reset. Schedules, not cron: they are visible, pausable and
// backfillable in the Temporal UI.
func EnsureSchedules(ctx context.Context, c client.Client, cfg config.Config) error {
	type sched struct {
		id, cron, workflow string
		args               []any
	}
	for _, s := range []sched{
		{"aether-rollup", "15 0 * * *", workflows.RollupWorkflow, nil},
		{"aether-cleanup", "30 3 * * *", workflows.CleanupWorkflow, []any{workflows.CleanupInput{
			RequestRetention: cfg.RetainRequests, AuditRetention: cfg.RetainAudit, BatchSize: cfg.CleanupBatch}, (*workflows.CleanupResult)(nil)}},
		{"aether-budget-reset", "0 0 1 * *", workflows.BudgetResetWorkflow, nil},
	} {
		action := &client.ScheduleWorkflowAction{ID: s.id, Workflow: s.workflow, Args: s.args, TaskQueue: cfg.TaskQueue}
		spec := client.ScheduleSpec{CronExpressions: []string{s.cron}}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: s.id, Spec: spec, Action: action,
			Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = c.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					in.Description.Schedule.Spec = &spec
					in.Description.Schedule.Action = action
					return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
				},
			})
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.id, err)
		}
	}
	return nil
}
