package e2e_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMixedRequestsAreRecordedExactly: 200 requests of every format, stream
// and not, some failing over, produce exactly 200 request rows with the
// right tokens, exact costs and trace rows, findable with
// `temporal workflow count --query`, and no history holds a secret or text.
func TestMixedRequestsAreRecordedExactly(t *testing.T) {
	s := newStack(t, stackOptions{})
	ids, errs := s.traffic(200, 8, 0)
	if len(errs) > 0 {
		t.Fatalf("%d client errors, first: %v", len(errs), errs[0])
	}
	if len(ids) != 200 {
		t.Fatalf("%d distinct request IDs for 200 requests", len(ids))
	}
	rows := s.waitRows(ids, 2*time.Minute)
	if len(rows) != 200 {
		t.Fatalf("%d request rows, want exactly 200", len(rows))
	}
	perModel := map[string]int{}
	for _, c := range ids {
		perModel[c.model]++
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		claude := s.temporalCount(`AetherModel="claude-sonnet-4-5" AND AetherStatus="completed" AND AetherCostUSD > 0.0002`)
		gemini := s.temporalCount(`AetherModel="gemini-2.5-flash" AND AetherProvider="sim-gemini-good" AND AetherTotalTokens = 46`)
		cheap := s.temporalCount(`AetherModel="gpt-4o-mini" AND AetherCostUSD < 0.00002 AND AetherStatus="completed"`)
		if claude == perModel["claude-sonnet-4-5"] && gemini == perModel["gemini-2.5-flash"] && cheap == perModel["gpt-4o-mini"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporal workflow count: claude %d/%d gemini %d/%d gpt %d/%d", claude, perModel["claude-sonnet-4-5"],
				gemini, perModel["gemini-2.5-flash"], cheap, perModel["gpt-4o-mini"])
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := s.scanHistories(); n != 200 {
		t.Fatalf("scanned %d workflow histories, want 200", n)
	}
	checkSpend(t, s, rows)
	// The worker created the housekeeping schedules.
	for _, id := range []string{"aether-rollup", "aether-cleanup", "aether-budget-reset"} {
		if _, err := s.tc.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background()); err != nil {
			t.Errorf("schedule %s: %v", id, err)
		}
	}
}

// checkSpend: the user's spend counter is exactly the sum of the recorded
// costs, so nothing was counted twice.
func checkSpend(t *testing.T, s *stack, rows map[string]requestRow) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var spend, sum string
	if err := conn.QueryRow(ctx, `SELECT (SELECT spend_usd::text FROM users WHERE name = 'e2e'), (SELECT coalesce(sum(total_cost_usd), 0)::text FROM requests)`).Scan(&spend, &sum); err != nil {
		t.Fatal(err)
	}
	if spend != sum {
		t.Fatalf("user spend %s differs from the sum of request costs %s", spend, sum)
	}
}

// TestWorkerKilled: the worker dies (kill -9) in the middle of a run and
// comes back; every row lands exactly once.
func TestWorkerKilled(t *testing.T) {
	s := newStack(t, stackOptions{})
	done := make(chan struct{})
	var ids map[string]call
	var errs []error
	go func() { ids, errs = s.traffic(80, 4, 50*time.Millisecond); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	s.worker.Kill()
	time.Sleep(3 * time.Second)
	s.startWorker()
	<-done
	if len(errs) > 0 {
		t.Fatalf("client errors while the worker was down: %v", errs[0])
	}
	rows := s.waitRows(ids, 2*time.Minute)
	if len(rows) != len(ids) {
		t.Fatalf("%d rows for %d requests", len(rows), len(ids))
	}
	checkSpend(t, s, rows)
	s.scanHistories()
}

// TestTemporalOutage: Temporal is stopped for 30 seconds under traffic.
// Every client request still succeeds; every row lands after it returns.
func TestTemporalOutage(t *testing.T) {
	s := newStack(t, stackOptions{})
	done := make(chan struct{})
	var ids map[string]call
	var errs []error
	go func() { ids, errs = s.traffic(160, 2, 250*time.Millisecond); close(done) }()
	time.Sleep(3 * time.Second)
	s.temporal.Stop()
	stopped := time.Now()
	time.Sleep(30 * time.Second)
	if err := s.temporal.Restart(context.Background()); err != nil {
		t.Fatalf("restart Temporal after %s: %v", time.Since(stopped), err)
	}
	<-done
	if len(errs) > 0 {
		t.Fatalf("%d client requests failed while Temporal was down: %v", len(errs), errs[0])
	}
	rows := s.waitRows(ids, 3*time.Minute)
	if len(rows) != len(ids) {
		t.Fatalf("%d rows for %d requests", len(rows), len(ids))
	}
	checkSpend(t, s, rows)
	s.scanHistories()
}

// TestPostgresOutage: Postgres is stopped for 30 seconds under traffic. The
// gateway keeps serving from its snapshot; rows land after it returns.
func TestPostgresOutage(t *testing.T) {
	s := newStack(t, stackOptions{ownPostgres: true})
	done := make(chan struct{})
	var ids map[string]call
	var errs []error
	go func() { ids, errs = s.traffic(140, 2, 250*time.Millisecond); close(done) }()
	time.Sleep(3 * time.Second)
	s.pg.Stop()
	time.Sleep(30 * time.Second)
	if err := s.pg.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	if len(errs) > 0 {
		t.Fatalf("%d client requests failed while Postgres was down: %v", len(errs), errs[0])
	}
	rows := s.waitRows(ids, 3*time.Minute)
	if len(rows) != len(ids) {
		t.Fatalf("%d rows for %d requests", len(rows), len(ids))
	}
	checkSpend(t, s, rows)
}

// TestAPIKilledMidStream: the API dies (kill -9) while a stream is running
// and while finished requests are still in its journal (Temporal is out of
// its reach). After a restart the journal ships what it held, and the
// interrupted stream ends failed/interrupted.
func TestAPIKilledMidStream(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Point the API at a dead Temporal so nothing ships before the crash.
	liveTemporal := s.env["AETHER_TEMPORAL_ADDRESS"]
	s.api.Stop(10 * time.Second)
	s.env["AETHER_TEMPORAL_ADDRESS"] = freeAddr(t)
	s.startAPI()
	ids, errs := s.traffic(14, 2, 0)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	// A long stream, cut by the crash.
	req, _ := http.NewRequest(http.MethodPost, s.url()+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`))
	req.Header.Set("x-api-key", gatewayKey)
	req.Header.Set("X-Fake-Chunks", "500")
	req.Header.Set("X-Fake-Chunk-Interval", "50ms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	streamID := resp.Header.Get("X-Request-ID")
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 5; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the journal make the first byte durable
	s.api.Kill()
	resp.Body.Close()

	s.env["AETHER_TEMPORAL_ADDRESS"] = liveTemporal
	s.startAPI()
	rows := s.waitRows(ids, 2*time.Minute)
	if len(rows) < len(ids) {
		t.Fatalf("%d rows for %d finished requests", len(rows), len(ids))
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		all, err := s.rows(context.Background())
		if err == nil {
			if r, ok := all[streamID]; ok && r.status == "failed" {
				if r.errorClass != "interrupted" {
					t.Fatalf("interrupted stream recorded as %+v", r)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("interrupted stream %s not closed (rows %v)", streamID, all[streamID])
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.scanHistories()
}
