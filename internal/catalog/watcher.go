package catalog

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"aether/internal/store"
)

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Interval between version checks (AETHER_SNAPSHOT_REFRESH).
	Interval time.Duration
}

// Watcher keeps the current Snapshot fresh.
type Watcher struct {
	cfg     WatcherConfig
	store   *store.Store
	log     *slog.Logger
	current atomic.Pointer[Snapshot]
}

// NewWatcher returns a Watcher; call Load before serving and Run in the
// background.
func NewWatcher(cfg WatcherConfig, s *store.Store, log *slog.Logger) *Watcher {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	return &Watcher{cfg: cfg, store: s, log: log}
}

// Load reads the configuration now.
func (w *Watcher) Load(ctx context.Context) error {
	cs, err := w.store.LoadConfig(ctx)
	if err != nil {
		return err
	}
	w.current.Store(Build(cs))
	return nil
}

// Current returns the latest snapshot. It never blocks.
func (w *Watcher) Current() *Snapshot { return w.current.Load() }

// Run polls the version until ctx ends. When Postgres is unreachable the
// last snapshot stays in use: the gateway keeps serving.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := w.store.ConfigVersion(qctx)
		if err == nil && v != w.Current().Version {
			err = w.Load(qctx)
			if err == nil {
				w.log.Info("configuration reloaded", "version", v)
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			if !failing {
				w.log.Warn("configuration refresh failing; serving the last snapshot", "error", err)
			}
			failing = true
			continue
		}
		if failing && err == nil {
			w.log.Info("configuration refresh recovered")
			failing = false
		}
	}
}
