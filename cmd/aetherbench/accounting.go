package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// accounting sends requests at a fixed rate and reports, every five
// seconds, how many are durably recorded in Postgres (through the journal,
// Temporal and the worker) and the lag; then how long the rest takes to
// drain, and the Temporal calls and workflow tasks per request, read from
// the workflow histories.
func accounting(t target, body string, rate int, dur time.Duration, dbURL, temporalAddr string) {
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aetherbench: source .dev/env first:", err)
		os.Exit(2)
	}
	defer db.Close(ctx)
	count := func() int {
		var n int
		_ = db.QueryRow(ctx, `SELECT count(*) FROM requests WHERE status IN ('completed', 'failed', 'cancelled')`).Scan(&n)
		return n
	}
	base := count()
	var sent, failed atomic.Int64
	var ids sync.Map
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	report := time.NewTicker(5 * time.Second)
	stop := time.After(dur)
	fmt.Printf("aetherbench: %d requests/s for %s; recorded = final rows in Postgres\n", rate, dur)
	fmt.Printf("%8s %8s %9s %6s\n", "elapsed", "sent", "recorded", "lag")
	var wg sync.WaitGroup
loop:
	for {
		select {
		case <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := t.onceID(body)
				if err != nil {
					failed.Add(1)
					return
				}
				sent.Add(1)
				ids.Store(id, true)
			}()
		case <-report.C:
			rec := count() - base
			fmt.Printf("%7.0fs %8d %9d %6d\n", time.Since(start).Seconds(), sent.Load(), rec, sent.Load()-int64(rec))
		case <-stop:
			break loop
		}
	}
	tick.Stop()
	wg.Wait()
	end := time.Now()
	total := sent.Load()
	for count()-base < int(total) {
		if time.Since(end) > 5*time.Minute {
			fmt.Println("not drained after 5 minutes")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("\nsent %d (failed %d) at %.1f/s; all recorded %.1fs after the last request; sustained %.1f recorded/s\n",
		total, failed.Load(), float64(total)/end.Sub(start).Seconds(), time.Since(end).Seconds(), float64(total)/time.Since(start).Seconds())

	// Temporal calls and workflow tasks per request, from a sample of
	// histories: calls = the start plus any signals; tasks = completed
	// workflow tasks.
	c, err := client.Dial(client.Options{HostPort: temporalAddr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "aetherbench: temporal:", err)
		return
	}
	defer c.Close()
	var calls, tasks []int
	ids.Range(func(k, _ any) bool {
		it := c.GetWorkflowHistory(ctx, k.(string), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		nc, nt := 1, 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			switch ev.EventType {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				nc++
			case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				nt++
			}
		}
		calls, tasks = append(calls, nc), append(tasks, nt)
		return len(calls) < 200
	})
	slices.Sort(calls)
	slices.Sort(tasks)
	fmt.Printf("per request (sample of %d): Temporal calls p50 %d max %d; workflow tasks p50 %d max %d\n",
		len(calls), calls[len(calls)/2], calls[len(calls)-1], tasks[len(tasks)/2], tasks[len(tasks)-1])
}
