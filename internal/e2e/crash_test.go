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

// TestAPIKilledWithOpenStreams: the API dies (kill -9) with 20 slow
// streams in flight. Ten were already shipped and are recorded as
// streaming, so none of their journal entries is replayed after the
// checkpoint; ten were never shipped (Temporal was down). With a
// 10-minute request deadline, all 20 must still be closed as
// failed/interrupted within seconds of the restart, keeping their first
// byte.
func TestAPIKilledWithOpenStreams(t *testing.T) {
	s := newStack(t, stackOptions{env: map[string]string{"AETHER_REQUEST_TIMEOUT": "10m"}})
	open := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.url()+"/v1/messages",
			strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`))
		req.Header.Set("x-api-key", gatewayKey)
		req.Header.Set("X-Fake-Chunks", "5000")
		req.Header.Set("X-Fake-Chunk-Interval", "50ms")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		br := bufio.NewReader(resp.Body)
		for range 3 { // the first byte reached the client
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		return resp.Header.Get("X-Request-ID")
	}
	var shipped, unshipped []string
	for range 10 {
		shipped = append(shipped, open())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows, err := s.rows(context.Background())
		n := 0
		for _, id := range shipped {
			if err == nil && rows[id].status == "streaming" {
				n++
			}
		}
		if n == len(shipped) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams recorded as streaming (error %v)", n, len(shipped), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // the shipper's checkpoint passes their starts

	s.temporal.Stop()
	for range 10 {
		unshipped = append(unshipped, open())
	}
	// Each first byte was handed to the journal before it reached the
	// client, but a stream never waits for a later event's write: a kill
	// right after the last open can come before the journal wrote that
	// stream's first byte, and then nothing records it. Let the journal
	// write what it holds first (nothing ships: Temporal is down).
	waitFor(t, time.Now(), 10*time.Second, "the journal to write every event", func() bool {
		return metricSum(t, s.url()+"/metrics", "aether_journal_unwritten_events") == 0
	})
	s.api.Kill()
	if err := s.temporal.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.startAPI()
	restarted := time.Now()

	all := append(append([]string(nil), shipped...), unshipped...)
	limit := 30 * time.Second
	for {
		closed, last := s.closedStreams(all)
		if closed == len(all) {
			break
		}
		if time.Since(restarted) > limit {
			t.Fatalf("%d of %d open streams closed %s after the restart; one not closed: %s", closed, len(all), limit, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("20 open streams closed %s after the restart", time.Since(restarted).Round(100*time.Millisecond))
	s.scanHistories()
}

// closedStreams counts the requests recorded failed/interrupted with a
// first byte, and describes one that is not.
func (s *stack) closedStreams(ids []string) (int, string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		return 0, err.Error()
	}
	defer conn.Close(ctx)
	n, last := 0, ""
	for _, id := range ids {
		var status, class string
		var firstByte *int
		err := conn.QueryRow(ctx, `SELECT status, coalesce(error_class, ''), first_byte_ms FROM requests WHERE request_id = $1`, id).Scan(&status, &class, &firstByte)
		switch {
		case err != nil:
			last = id + ": " + err.Error()
		case status != "failed" || class != "interrupted" || firstByte == nil:
			last = id + ": " + status + "/" + class
			if firstByte == nil {
				last += " without first byte"
			}
		default:
			n++
		}
	}
	return n, last
}
