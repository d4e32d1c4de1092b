package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
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
	replicas := t.replicas()
	var next atomic.Uint64
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
				id, err := replicas[next.Add(1)%uint64(len(replicas))].onceID(body)
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
	var calls, tasks, events, transitions []int
	ids.Range(func(k, _ any) bool {
		it := c.GetWorkflowHistory(ctx, k.(string), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		nc, nt, ne := 1, 0, 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			ne++
			switch ev.EventType {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				nc++
			case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				nt++
			}
		}
		calls, tasks, events = append(calls, nc), append(tasks, nt), append(events, ne)
		if d, err := c.DescribeWorkflow(ctx, k.(string), ""); err == nil {
			transitions = append(transitions, int(d.RawResponse.GetWorkflowExecutionInfo().GetStateTransitionCount()))
		}
		return len(calls) < 200
	})
	if len(calls) == 0 {
		return
	}
	for _, s := range [][]int{calls, tasks, events, transitions} {
		slices.Sort(s)
	}
	fmt.Printf("per request (sample of %d): Temporal calls p50 %d max %d; workflow tasks p50 %d max %d; history events p50 %d max %d\n",
		len(calls), calls[len(calls)/2], calls[len(calls)-1], tasks[len(tasks)/2], tasks[len(tasks)-1], events[len(events)/2], events[len(events)-1])
	if len(transitions) > 0 {
		fmt.Printf("state transitions p50 %d max %d\n", transitions[len(transitions)/2], transitions[len(transitions)-1])
	}
}

// replicas splits a -gateway that lists several base URLs separated by
// commas (the API replicas of `make prod-stack`) into one target each; the
// accounting run sends to them in turn, as a round-robin load balancer
// would.
func (t target) replicas() []target {
	i := strings.LastIndex(t.url, "/v1/")
	if i < 0 {
		return []target{t}
	}
	var out []target
	for _, base := range strings.Split(t.url[:i], ",") {
		out = append(out, target{t.c, base + t.url[i:], t.key})
	}
	return out
}
