package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// slack is what the test allows on top of a documented refresh interval
// for the query itself and for scheduling on a loaded two-core machine.
const slack = 750 * time.Millisecond

// TestReplicasShareStateAndRecordOnce runs two API replicas and two
// workers over one Postgres and one Temporal, with requests spread over
// the replicas as a round-robin load balancer would, and checks the claims
// of the README's "Running several replicas":
//   - a gateway key created through one replica works on the other within
//     AETHER_SNAPSHOT_REFRESH, and one revoked through one replica stops
//     working there at once and on the other within AETHER_SNAPSHOT_REFRESH;
//   - rate limits and provider-key concurrency are per replica: a key with
//     rpm_limit 2 gets 2 requests on each, and a provider key with
//     max_concurrent 1 busy on one replica still serves on the other;
//   - a budget is shared: each replica refuses once the other's recorded
//     spend reaches it, within a second of the spend being recorded;
//   - a breaker opened through one replica is skipped by the other within
//     2 s of its state being recorded;
//   - each replica's shipper delivers exactly the requests it answered, and
//     every request is recorded once, with the user's spend the exact sum of
//     the costs, although both workers recorded requests.
func TestReplicasShareStateAndRecordOnce(t *testing.T) {
	const refresh = time.Second // AETHER_SNAPSHOT_REFRESH, the default
	s := newStack(t, stackOptions{replicas: 2, env: map[string]string{
		"AETHER_ADMIN_TOKEN":          adminToken,
		"AETHER_SNAPSHOT_REFRESH":     refresh.String(),
		"AETHER_BREAKER_MIN_REQUESTS": "3",
		"AETHER_BREAKER_OPEN_FOR":     "5m", // stays open for the whole test
	}})
	urls := s.apiURLs()
	a, b := urls[0], urls[1]
	ctx := context.Background()
	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)

	// Every request that reached an upstream, by ID, and the replica that
	// answered it.
	ids, at, errs := spread(urls, calls[:5], 120, 8, 0) // no Gemini: its failing provider would open a breaker
	if len(errs) > 0 {
		t.Fatalf("%d client errors, first: %v", len(errs), errs[0])
	}
	if len(ids) != 120 {
		t.Fatalf("%d distinct request IDs for 120 requests", len(ids))
	}
	record := func(base string, c call) {
		t.Helper()
		id, err := sendTo(base, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := ids[id]; dup {
			t.Fatalf("request ID %s answered twice", id)
		}
		ids[id], at[id] = c, indexOf(urls, base)
	}

	// Keys made through replica A work on B within the refresh interval.
	admin(t, a, http.MethodPost, "/users", `{"name":"capped","budget_usd":"0.0009"}`, 201)
	capped := createKey(t, a, "capped", `{"name":"capped-key"}`)
	limited := createKey(t, a, "e2e", `{"name":"rpm-key","rpm_limit":2}`)
	created := time.Now() // the last change: B loads the three together
	leaving := createKey(t, a, "e2e", `{"name":"leaving-key"}`)
	for _, key := range []string{capped, limited, leaving} {
		if code := modelsStatus(t, a, key); code != 200 {
			t.Fatalf("a key created through replica A answers %d there, want 200 at once", code)
		}
	}
	for _, key := range []string{capped, limited, leaving} {
		waitFor(t, created, refresh+slack, "a key created through replica A to work on replica B", func() bool { return modelsStatus(t, b, key) == 200 })
	}
	t.Logf("new keys worked on replica B %s after they were made", time.Since(created).Round(time.Millisecond))

	// Rate limits are per replica: rpm_limit 2 allows 2 on each.
	claude := calls[3]
	for _, base := range []string{a, a, b, b} {
		record(base, withKey(claude, limited))
	}
	for _, base := range []string{a, b} {
		if code, body := post(t, base, withKey(claude, limited)); code != 429 || !strings.Contains(body, "Rate limit") {
			t.Fatalf("third request of a 2-per-minute key on one replica: %d %.200s, want 429 rate limit", code, body)
		}
	}

	// A budget is shared. 0.0009 lies between 3 and 4 Claude requests
	// ($0.00023235 each). Two on each replica are admitted (neither has
	// seen more than 3 costs yet); once the four are recorded, each
	// replica has only 2 of its own yet must refuse, so it reads the
	// other's spend from Postgres.
	for _, base := range []string{a, a, b, b} {
		record(base, withKey(claude, capped))
	}
	spent := waitFor(t, time.Now(), time.Minute, "the capped user's four requests to be recorded", func() bool {
		var ok bool
		err := db.QueryRow(ctx, `SELECT spend_usd = 4 * 0.00023235 FROM users WHERE name = 'capped'`).Scan(&ok)
		return err == nil && ok
	})
	waitUntil(spent.Add(time.Second + slack)) // spend is read every second
	for i, base := range []string{a, b} {
		if code, body := post(t, base, withKey(claude, capped)); code != 429 || !strings.Contains(body, "budget") {
			t.Errorf("replica %d, %s after the budget was spent: %d %.200s, want 429 budget", i, time.Second+slack, code, body)
		}
	}

	// A breaker opened through one replica is skipped by the other. The
	// first Gemini provider always fails; B tries it once (its own breaker
	// needs 3 failures), then A fails on it 3 times and opens it.
	gemini, geminiDirect := calls[5], calls[5]
	geminiDirect.attempts = 1
	bad := "pk-gemini-bad-SECRET"
	if open := metricSum(t, b+"/metrics", "aether_breaker_keys", `provider="sim-gemini-bad"`, `state="open"`); open != 0 {
		t.Fatalf("replica B shows %v open breakers on sim-gemini-bad before any failure", open)
	}
	record(b, gemini)
	for range 3 {
		record(a, gemini)
	}
	opened := waitFor(t, time.Now(), time.Minute, "the breaker A opened to be recorded", func() bool {
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM provider_key_health h JOIN provider_keys k ON k.id = h.provider_key_id
			WHERE k.name = 'bad' AND h.state = 'open' AND h.open_until > now()`).Scan(&n)
		return err == nil && n == 1
	})
	skipped := waitFor(t, opened, 2*time.Second+slack, "replica B to show the breaker open", func() bool {
		return metricSum(t, b+"/metrics", "aether_breaker_keys", `provider="sim-gemini-bad"`, `state="open"`) == 1
	})
	t.Logf("replica B showed the breaker open %s after it was recorded", skipped.Sub(opened).Round(time.Millisecond))
	before := s.fake.CountKey(bad)
	record(b, geminiDirect)
	if n := s.fake.CountKey(bad) - before; n != 0 {
		t.Fatalf("replica B sent %d requests to the key replica A opened the breaker of", n)
	}

	// Provider-key concurrency is per replica. With max_concurrent 1 on the
	// only Anthropic key and a stream holding A's slot, A refuses another
	// Claude request (429, recorded failed/rate_limited) and B serves it.
	changed := time.Now()
	admin(t, a, http.MethodPut, "/providers/sim-anthropic/keys/only", `{"max_concurrent":1}`, 200)
	version := metricSum(t, a+"/metrics", "aether_config_version")
	waitFor(t, changed, refresh+slack, "replica B to load the configuration replica A changed", func() bool {
		return metricSum(t, b+"/metrics", "aether_config_version") == version
	})
	slow := calls[4] // an Anthropic stream
	slow.header = map[string]string{"x-api-key": gatewayKey, "anthropic-version": "2023-06-01", "X-Fake-Chunks": "40", "X-Fake-Chunk-Interval": "50ms"}
	req, _ := http.NewRequest(http.MethodPost, a+slow.path, strings.NewReader(slow.body))
	for k, v := range slow.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("slow stream: %v %v", resp, err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the stream has begun: it holds A's slot
		t.Fatal(err)
	}
	refused := map[string]bool{}
	code, body, id := postID(t, a, claude)
	if code != 429 || !strings.Contains(body, "concurrent") {
		t.Fatalf("a second Claude request on the replica whose key slot is taken: %d %.200s, want 429", code, body)
	}
	refused[id], at[id] = true, 0
	record(b, claude)
	rest, err := io.ReadAll(br)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("slow stream did not end: %v", err)
	}
	ids[resp.Header.Get("X-Request-ID")], at[resp.Header.Get("X-Request-ID")] = slow, 0

	// A key revoked through A stops working on A at once and on B within
	// the refresh interval.
	record(a, withKey(claude, leaving))
	record(b, withKey(claude, leaving))
	revoked := time.Now()
	admin(t, a, http.MethodPut, "/keys/leaving-key", `{"active":false}`, 200)
	if code := modelsStatus(t, a, leaving); code != 401 {
		t.Fatalf("a key revoked through replica A answers %d there, want 401 at once", code)
	}
	gone := waitFor(t, revoked, refresh+slack, "a key revoked through replica A to stop working on replica B", func() bool { return modelsStatus(t, b, leaving) == 401 })
	t.Logf("the revoked key stopped working on replica B %s after the revocation", gone.Sub(revoked).Round(time.Millisecond))
	for i, base := range urls {
		if code, body := post(t, base, withKey(claude, leaving)); code != 401 {
			t.Errorf("replica %d: a revoked key's request answered %d %.200s, want 401", i, code, body)
		}
	}

	// Every request is recorded once, as sent: rows, exact costs, traces.
	rows := s.waitRows(ids, 2*time.Minute)
	waitFor(t, time.Now(), 30*time.Second, "the refused request to be recorded", func() bool {
		rows, _ = s.rows(ctx)
		for id := range refused {
			if rows[id].status != "failed" || rows[id].errorClass != "rate_limited" {
				return false
			}
		}
		return true
	})
	if len(rows) != len(ids)+len(refused) {
		t.Fatalf("%d request rows for %d requests", len(rows), len(ids)+len(refused))
	}
	costs := make([]string, 0, len(ids))
	for _, c := range ids {
		costs = append(costs, c.cost)
	}
	type userSpend struct{ name, spend, sum string }
	var sums []userSpend
	q, err := db.Query(ctx, `SELECT u.name, u.spend_usd::text, coalesce(sum(r.total_cost_usd), 0)::text FROM users u
		LEFT JOIN requests r ON r.user_id = u.id GROUP BY u.name, u.spend_usd ORDER BY u.name`)
	if err != nil {
		t.Fatal(err)
	}
	for q.Next() {
		var u userSpend
		if err := q.Scan(&u.name, &u.spend, &u.sum); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, u)
	}
	if q.Err() != nil {
		t.Fatal(q.Err())
	}
	for _, u := range sums {
		if u.spend != u.sum {
			t.Errorf("user %s: spend %s, but their recorded requests cost %s", u.name, u.spend, u.sum)
		}
	}
	var exact bool
	if err := db.QueryRow(ctx, `SELECT (SELECT sum(spend_usd) FROM users) = (SELECT sum(c::numeric) FROM unnest($1::text[]) c)`, costs).Scan(&exact); err != nil || !exact {
		t.Errorf("the users' spend is not the exact sum of the %d requests' costs (%v): %+v", len(costs), err, sums)
	}

	// Each replica's shipper delivered exactly the requests it answered:
	// with the rows above, the union is every request, each once.
	answered := make([]int, len(urls))
	for _, i := range at {
		answered[i]++
	}
	for i, base := range urls {
		waitFor(t, time.Now(), 30*time.Second, fmt.Sprintf("replica %d's shipper to report %d requests delivered", i, answered[i]), func() bool {
			return metricSum(t, base+"/metrics", "aether_ship_delivered_requests_total") == float64(answered[i])
		})
		if n := metricSum(t, base+"/metrics", "aether_ship_conflicts_total"); n != 0 {
			t.Errorf("replica %d: %v request ID conflicts", i, n)
		}
	}
	for i, w := range s.workerURLs() {
		if n := metricSum(t, w+"/metrics", "aether_activity_results_total", `activity="RecordFinal"`, `result="ok"`); n == 0 {
			t.Errorf("worker %d recorded no request: the test did not make both workers record", i)
		} else {
			t.Logf("worker %d recorded %v requests", i, n)
		}
	}
	waitFor(t, time.Now(), 30*time.Second, fmt.Sprintf("temporal workflow count to show %d Request workflows", len(at)), func() bool {
		return s.temporalCount(`WorkflowType="Request"`) == len(at)
	})
	for _, p := range append([]string{s.worker.Log}, s.more[0].worker.Log) {
		if log, err := os.ReadFile(p); err != nil || strings.Contains(string(log), "housekeeping schedules not created") {
			t.Errorf("%s: a worker could not create the schedules another had created", p)
		}
	}
}

// withKey returns c sent with key instead of the stack's gateway key.
func withKey(c call, key string) call {
	h := map[string]string{}
	for k, v := range c.header {
		h[k] = strings.ReplaceAll(v, gatewayKey, key)
	}
	c.header = h
	return c
}

func indexOf(urls []string, base string) int {
	for i, u := range urls {
		if u == base {
			return i
		}
	}
	panic("unknown replica " + base)
}

// post sends c to base and returns the status and body, whatever they are.
func post(t *testing.T, base string, c call) (int, string) {
	t.Helper()
	code, body, _ := postID(t, base, c)
	return code, body
}

// postID is post that also returns the X-Request-ID answered.
func postID(t *testing.T, base string, c call) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+c.path, strings.NewReader(c.body))
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Request-ID")
}

// admin calls the admin API at base and fails unless it answers want.
func admin(t *testing.T, base, method, path, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, base+"/admin/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return string(b)
}

// createKey makes a gateway key for user through the admin API at base
// and returns the key.
func createKey(t *testing.T, base, user, body string) string {
	t.Helper()
	out := admin(t, base, http.MethodPost, "/users/"+user+"/keys", body, 201)
	const field = `"key":"`
	i := strings.Index(out, field)
	if i < 0 {
		t.Fatalf("no key in %s", out)
	}
	key, _, _ := strings.Cut(out[i+len(field):], `"`)
	return key
}

// modelsStatus is the status of GET /v1/models with key: 200 for a key
// that works, 401 for one that does not. It is neither billed nor limited.
func modelsStatus(t *testing.T, base, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metricSum scrapes url and sums the samples of metric whose labels
// contain every one of labels (`name="value"`).
func metricSum(t *testing.T, url, metric string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, _ := strings.Cut(line, " ")
		series := name
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			j := strings.LastIndexByte(line, '}')
			series, rest = line[:j+1], strings.TrimSpace(line[j+1:])
			name = line[:i]
		}
		if name != metric {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// waitFor polls cond every 25 ms until it holds and returns when it first
// did; it fails if that is later than since+limit.
func waitFor(t *testing.T, since time.Time, limit time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	for {
		if cond() {
			now := time.Now()
			if took := now.Sub(since); took > limit {
				t.Fatalf("waited %s for %s, want at most %s", took.Round(time.Millisecond), what, limit)
			}
			return now
		}
		if time.Since(since) > limit {
			t.Fatalf("still waiting for %s after %s", what, limit)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitUntil sleeps until t: the test waits out a documented interval.
func waitUntil(t time.Time) { time.Sleep(time.Until(t)) }
