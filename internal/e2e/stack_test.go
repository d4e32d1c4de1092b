// Package e2e runs Aether as its users do: the real API and worker binaries
// as processes, a real Temporal dev server, real Postgres, official SDKs as
// clients and the simulated upstream, and breaks them on purpose.
package e2e_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/procs"
	"aether/internal/testkit/temporaldev"
	"aether/internal/testkit/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		root, err := temporaldev.ModuleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binDir, err = os.MkdirTemp("", "aether-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/api", "./cmd/worker")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	testenv.Shutdown()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// Secrets and texts that must never appear in a workflow history.
const (
	gatewayKey = "sk-e2e-gateway-key-SECRET-0001"
	prompt     = "PROMPT-TEXT-e2e-7d3f1c"
)

var providerSecrets = []string{"pk-openai-primary-SECRET", "pk-openai-backup-SECRET", "pk-anthropic-SECRET", "pk-gemini-bad-SECRET", "pk-gemini-good-SECRET"}

const stackYAML = `
providers:
  - name: sim-openai
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1"}]
    keys:
      - {name: primary, secret: pk-openai-primary-SECRET, priority: 1}
      - {name: backup, secret: pk-openai-backup-SECRET, priority: 2}
  - name: sim-anthropic
    endpoints: [{format: anthropic, base_url: "${FAKE_URL}"}]
    keys: [{name: only, secret: pk-anthropic-SECRET}]
  - name: sim-gemini-bad
    priority: 1
    endpoints: [{format: gemini, base_url: "${FAKE_URL}"}]
    keys: [{name: bad, secret: pk-gemini-bad-SECRET}]
  - name: sim-gemini-good
    priority: 2
    endpoints: [{format: gemini, base_url: "${FAKE_URL}"}]
    keys: [{name: good, secret: pk-gemini-good-SECRET}]
models:
  - name: gpt-4o-mini
    routes: [{provider: sim-openai}]
  - name: claude-sonnet-4-5
    routes: [{provider: sim-anthropic, upstream_model: claude-sonnet-4-5-20250929}]
  - name: gemini-2.5-flash
    routes: [{provider: sim-gemini-bad}, {provider: sim-gemini-good}]
prices:
  - {model: gpt-4o-mini, input: 0.15, output: 0.60, cache_read: 0.075}
  - {model: claude-sonnet-4-5, input: 3, output: 15, cache_read: 0.30, cache_write_5m: 3.75, cache_write_1h: 6}
  - {model: gemini-2.5-flash, input: 0.30, output: 2.50, cache_read: 0.03}
users:
  - name: e2e
    keys: [{name: e2e-key, key: "` + gatewayKey + `"}]
`

// stack is one Aether deployment for one test.
type stack struct {
	t        *testing.T
	dir      string
	dbURL    string
	pg       *pgcluster.Cluster // set when the test owns its Postgres
	temporal *temporaldev.Server
	fake     *fakeupstream.Server
	fakeURL  string
	api      *procs.Proc
	worker   *procs.Proc
	apiAddr  string
	wrkAddr  string
	env      map[string]string
	tc       client.Client
	// more are the API replicas and workers beyond the first pair.
	more []*replica
}

// replica is one more API process and one more worker over the stack's
// Postgres and Temporal, each on its own ports and journal directory.
type replica struct {
	api, worker      *procs.Proc
	apiAddr, wrkAddr string
}

type stackOptions struct {
	ownPostgres bool
	env         map[string]string // extra API and worker environment
	replicas    int               // API replicas and workers (default 1)
	yaml        string            // configuration file (default stackYAML)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := &stack{t: t, dir: t.TempDir()}
	if o.ownPostgres {
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: s.dir + "/pg", Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pg.Stop)
		if err := pg.CreateDatabase(ctx, "aether", ""); err != nil {
			t.Fatal(err)
		}
		s.pg, s.dbURL = pg, pg.URL("aether")
	} else {
		s.dbURL = testenv.DatabaseURL(t)
	}
	var err error
	s.temporal, err = temporaldev.Start(ctx, temporaldev.Options{Headless: true, DBFile: s.dir + "/temporal.db", LogFile: s.dir + "/temporal.log"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.temporal.Stop() })
	s.fake = fakeupstream.New(fakeupstream.Config{
		ByKey:       map[string]fakeupstream.Knobs{"pk-gemini-bad-SECRET": {Status: 503}},
		RecordLimit: -1,
	})
	fs := httptest.NewServer(s.fake)
	t.Cleanup(func() { s.fake.Close(); fs.Close() })
	s.fakeURL = fs.URL
	if err := os.WriteFile(s.dir+"/aether.yaml", []byte(cmp.Or(o.yaml, stackYAML)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.apiAddr, s.wrkAddr = freeAddr(t), freeAddr(t)
	s.env = map[string]string{
		"AETHER_DATABASE_URL":              s.dbURL,
		"AETHER_TEMPORAL_ADDRESS":          s.temporal.Address(),
		"AETHER_ENCRYPTION_KEY":            strings.Repeat("5a", 32),
		"AETHER_CONFIG":                    s.dir + "/aether.yaml",
		"FAKE_URL":                         s.fakeURL,
		"AETHER_LISTEN":                    s.apiAddr,
		"AETHER_WORKER_LISTEN":             s.wrkAddr,
		"AETHER_JOURNAL_DIR":               s.dir + "/journal",
		"AETHER_LOG_LEVEL":                 "info",
		"AETHER_SHUTDOWN_TIMEOUT":          "5s",
		"AETHER_REQUEST_TIMEOUT":           "30s",
		"AETHER_BREAKER_MIN_REQUESTS":      "1000000", // keep failover deterministic
		"AETHER_AFFINITY_TTL":              "0",       // off: a 1ns TTL still applied to requests that started just before another succeeded
		"AETHER_STREAM_FIRST_BYTE_TIMEOUT": "5s",
	}
	for k, v := range o.env {
		s.env[k] = v
	}
	s.tc, err = client.Dial(client.Options{HostPort: s.temporal.Address()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)
	s.startWorker()
	s.startAPI()
	for i := 1; i < o.replicas; i++ {
		s.addReplica(i)
	}
	t.Cleanup(func() {
		if s.api != nil {
			s.api.Stop(10 * time.Second)
		}
		if s.worker != nil {
			s.worker.Stop(10 * time.Second)
		}
		if t.Failed() {
			for _, p := range []*procs.Proc{s.api, s.worker} {
				if p != nil {
					t.Logf("--- %s log ---\n%s", p.Name, p.Tail(40))
				}
			}
		}
	})
	return s
}

func (s *stack) startAPI() {
	s.t.Helper()
	p, err := procs.Start("api", binDir+"/api", s.dir, s.env, s.dir+"/api.log")
	if err != nil {
		s.t.Fatal(err)
	}
	s.api = p
	if err := p.WaitHealthy(context.Background(), "http://"+s.apiAddr+"/healthz", 60*time.Second); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) startWorker() {
	s.t.Helper()
	p, err := procs.Start("worker", binDir+"/worker", s.dir, s.env, s.dir+"/worker.log")
	if err != nil {
		s.t.Fatal(err)
	}
	s.worker = p
	if err := p.WaitHealthy(context.Background(), "http://"+s.wrkAddr+"/healthz", 60*time.Second); err != nil {
		s.t.Fatal(err)
	}
}

// addReplica starts API replica and worker number i beside the first
// pair: same database, Temporal and configuration, its own ports, logs and
// journal directory (two processes never share a journal).
func (s *stack) addReplica(i int) {
	s.t.Helper()
	r := &replica{apiAddr: freeAddr(s.t), wrkAddr: freeAddr(s.t)}
	env := map[string]string{}
	for k, v := range s.env {
		env[k] = v
	}
	env["AETHER_LISTEN"], env["AETHER_WORKER_LISTEN"] = r.apiAddr, r.wrkAddr
	env["AETHER_JOURNAL_DIR"] = fmt.Sprintf("%s/journal-%d", s.dir, i)
	s.more = append(s.more, r)
	s.t.Cleanup(func() {
		for _, p := range []*procs.Proc{r.api, r.worker} {
			if p == nil {
				continue
			}
			p.Stop(10 * time.Second)
			if s.t.Failed() {
				s.t.Logf("--- %s log ---\n%s", p.Name, p.Tail(40))
			}
		}
	})
	var err error
	for _, p := range []struct {
		proc       **procs.Proc
		name, addr string
	}{{&r.worker, "worker", r.wrkAddr}, {&r.api, "api", r.apiAddr}} {
		name := fmt.Sprintf("%s-%d", p.name, i)
		if *p.proc, err = procs.Start(name, binDir+"/"+p.name, s.dir, env, s.dir+"/"+name+".log"); err != nil {
			s.t.Fatal(err)
		}
		if err := (*p.proc).WaitHealthy(context.Background(), "http://"+p.addr+"/healthz", 60*time.Second); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *stack) url() string { return "http://" + s.apiAddr }

// apiURLs returns the base URL of every API replica, the first one first.
func (s *stack) apiURLs() []string {
	out := []string{s.url()}
	for _, r := range s.more {
		out = append(out, "http://"+r.apiAddr)
	}
	return out
}

// workerURLs returns the base URL of every worker's /healthz and /metrics
// listener, the first one first.
func (s *stack) workerURLs() []string {
	out := []string{"http://" + s.wrkAddr}
	for _, r := range s.more {
		out = append(out, "http://"+r.wrkAddr)
	}
	return out
}

// call is one kind of request the tests send.
type call struct {
	name, path, body string
	header           map[string]string
	stream           bool
	model            string
	cost             string // expected total_cost_usd
	attempts         int
}

var calls = []call{
	{"openai chat", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + prompt + `"}]}`,
		map[string]string{"Authorization": "Bearer " + gatewayKey}, false, "gpt-4o-mini", "0.000010575000", 1},
	{"openai chat stream", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`,
		map[string]string{"Authorization": "Bearer " + gatewayKey}, true, "gpt-4o-mini", "0.000010575000", 1},
	{"responses stream", "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"` + prompt + `"}`,
		map[string]string{"Authorization": "Bearer " + gatewayKey}, true, "gpt-4o-mini", "0.000010575000", 1},
	{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":9,"messages":[{"role":"user","content":"` + prompt + `"}]}`,
		map[string]string{"x-api-key": gatewayKey, "anthropic-version": "2023-06-01"}, false, "claude-sonnet-4-5", "0.000232350000", 1},
	{"anthropic stream", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`,
		map[string]string{"Authorization": "Bearer " + gatewayKey, "anthropic-version": "2023-06-01"}, true, "claude-sonnet-4-5", "0.000232350000", 1},
	// The first Gemini provider always answers 503: every Gemini request
	// fails over once.
	{"gemini failover", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"parts":[{"text":"` + prompt + `"}]}]}`,
		map[string]string{"x-goog-api-key": gatewayKey}, false, "gemini-2.5-flash", "0.000033410000", 2},
	{"gemini stream failover", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"` + prompt + `"}]}]}`,
		map[string]string{"x-goog-api-key": gatewayKey}, true, "gemini-2.5-flash", "0.000033410000", 2},
}

// sendTo makes one call to the API at base and returns its request ID;
// the body must arrive in full with status 200.
func sendTo(base string, c call) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+c.path, strings.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s: reading body: %w", c.name, err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), "w\\u00f6rld") && !strings.Contains(string(body), "wörld") {
		return "", fmt.Errorf("%s: status %d body %.200s", c.name, resp.StatusCode, body)
	}
	return resp.Header.Get("X-Request-ID"), nil
}

// traffic sends n calls to the first API replica, cycling through calls,
// from conc goroutines, and returns the call of each request ID.
func (s *stack) traffic(n, conc int, pace time.Duration) (map[string]call, []error) {
	ids, _, errs := spread([]string{s.url()}, calls, n, conc, pace)
	return ids, errs
}

// spread sends n requests, cycling through cs and through the API replicas
// at urls (request i goes to urls[i%len(urls)], so consecutive requests of
// one client land on different replicas, as behind a round-robin load
// balancer), from conc goroutines. It returns the call of each request ID
// and the index of the replica that answered it.
func spread(urls []string, cs []call, n, conc int, pace time.Duration) (map[string]call, map[string]int, []error) {
	var mu sync.Mutex
	ids, at := map[string]call{}, map[string]int{}
	var errs []error
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := cs[i%len(cs)]
				id, err := sendTo(urls[i%len(urls)], c)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids[id], at[id] = c, i%len(urls)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	close(work)
	wg.Wait()
	return ids, at, errs
}

type requestRow struct {
	status, model, cost string
	tokens              int64
	attempts            int
	traceTried          int
	traceSuccess        int
	errorClass          string
}

func (s *stack) rows(ctx context.Context) (map[string]requestRow, error) {
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, `SELECT r.request_id, r.status, r.model, coalesce(r.total_cost_usd::text, ''), r.total_tokens, r.attempt_count,
		coalesce(r.error_class, ''),
		(SELECT count(*) FROM request_attempts a WHERE a.request_id = r.request_id AND a.outcome IN ('success', 'failed')),
		(SELECT count(*) FROM request_attempts a WHERE a.request_id = r.request_id AND a.outcome = 'success')
		FROM requests r`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]requestRow{}
	for rs.Next() {
		var id string
		var r requestRow
		if err := rs.Scan(&id, &r.status, &r.model, &r.cost, &r.tokens, &r.attempts, &r.errorClass, &r.traceTried, &r.traceSuccess); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rs.Err()
}

// waitRows waits until every ID has a final row, then checks each row
// against its call: status, tokens, exact cost and the attempt trace.
func (s *stack) waitRows(ids map[string]call, limit time.Duration) map[string]requestRow {
	s.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		rows, err := s.rows(ctx)
		final := 0
		if err == nil {
			for id := range ids {
				if r, ok := rows[id]; ok && (r.status == "completed" || r.status == "failed" || r.status == "cancelled") {
					final++
				}
			}
		}
		if final == len(ids) {
			for id, c := range ids {
				r := rows[id]
				if r.status != "completed" || r.model != c.model || r.cost != c.cost || r.tokens != 46 ||
					r.attempts != c.attempts || r.traceTried != c.attempts || r.traceSuccess != 1 {
					s.t.Errorf("%s (%s): row %+v, want completed %s cost %s 46 tokens %d attempts", id, c.name, r, c.model, c.cost, c.attempts)
				}
			}
			return rows
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d requests recorded after %s (last error %v)", final, len(ids), limit, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// temporalCount runs `temporal workflow count --query` with the CLI users use.
func (s *stack) temporalCount(query string) int {
	s.t.Helper()
	bin, err := temporaldev.FindCLI("")
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := exec.Command(bin, "workflow", "count", "--address", s.temporal.Address(), "--query", query, "-o", "json").CombinedOutput()
	if err != nil {
		s.t.Fatalf("temporal workflow count --query %q: %v\n%s", query, err, out)
	}
	var v struct {
		Count json.Number `json:"count"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		s.t.Fatalf("count output %s: %v", out, err)
	}
	n, _ := strconv.Atoi(v.Count.String())
	return n
}

// scanHistories reads every workflow history in the namespace and fails if
// any holds a prompt, a completion, a gateway key or a provider key.
func (s *stack) scanHistories() int {
	s.t.Helper()
	ctx := context.Background()
	forbidden := append([]string{gatewayKey, prompt, "wörld", `w\u00f6rld`, `\"fake\"`}, providerSecrets...)
	var token []byte
	scanned := 0
	for {
		resp, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", NextPageToken: token, PageSize: 1000})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, ex := range resp.Executions {
			it := s.tc.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					s.t.Fatal(err)
				}
				b, _ := protojson.Marshal(ev)
				text := string(b)
				// Payloads are base64 in JSON: decode them as well.
				for _, p := range payloadData(text) {
					text += p
				}
				for _, f := range forbidden {
					if strings.Contains(text, f) {
						s.t.Errorf("workflow %s history contains %q", ex.Execution.WorkflowId, f)
					}
				}
			}
			scanned++
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			return scanned
		}
	}
}

var dataField = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)

// payloadData decodes the base64 payload data fields of a history event.
func payloadData(js string) []string {
	var out []string
	for _, m := range dataField.FindAllStringSubmatch(js, -1) {
		if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}
