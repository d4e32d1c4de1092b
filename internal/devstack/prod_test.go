package devstack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"aether/internal/devstack"
	"aether/internal/testkit/temporaldev"
)

// consecutiveFreePorts finds n free ports in a row (the Temporal server of
// deploy/temporal/aether.yaml takes 11 from one base) below 32768: Temporal
// stores membership ports in a smallint column, and the kernel hands out
// free ports above that.
func consecutiveFreePorts(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(12000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// TestProdStack runs `make prod-stack` on a fresh data directory: the
// production Temporal server with deploy/temporal/aether.yaml on Postgres,
// two API replicas and two workers. A request through each replica is
// recorded in Postgres, its workflow completed on that server, and found
// by Aether's search attributes through SQL visibility. It needs
// bin/temporal-server (`make bin/temporal-server`, about 2 minutes after
// bin/temporal), which `make test` does not build: without it the test is
// skipped, unless AETHER_TEST_PROD_STACK=1 asks for it.
func TestProdStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "temporal-server")); err != nil {
		if os.Getenv("AETHER_TEST_PROD_STACK") != "" {
			t.Fatalf("AETHER_TEST_PROD_STACK is set but %v: run `make bin/temporal-server`", err)
		}
		t.Skip("no bin/temporal-server: run `make bin/temporal-server` to test deploy/temporal/")
	}
	env := map[string]string{
		"AETHER_PROD_API1_LISTEN":    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_PROD_API2_LISTEN":    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_PROD_WORKER1_LISTEN": "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_PROD_WORKER2_LISTEN": "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_PROD_FAKE_LISTEN":    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_PROD_PG_PORT":        strconv.Itoa(freePort(t)),
		"AETHER_PROD_TEMPORAL_PORT":  strconv.Itoa(consecutiveFreePorts(t, 11)),
	}
	out := &bytes.Buffer{}
	opts := devstack.Options{Root: root, DataDir: t.TempDir(), Getenv: func(k string) string { return env[k] }, Out: out}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	stack, err := devstack.StartProd(ctx, opts)
	if err != nil {
		t.Fatalf("make prod-stack failed: %v\n%s", err, out)
	}
	defer stack.Stop()
	t.Logf("stack up in %s", time.Since(began).Round(time.Millisecond))
	gateways := strings.Split(stack.Env()["AETHER_GATEWAY_URLS"], ",")
	if len(gateways) != 2 {
		t.Fatalf("AETHER_GATEWAY_URLS = %q, want two replicas", stack.Env()["AETHER_GATEWAY_URLS"])
	}
	for _, want := range append(gateways, "sk-aether-dev", env["AETHER_PROD_TEMPORAL_PORT"]) {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner does not show %q:\n%s", want, out)
		}
	}

	key := stack.Env()["AETHER_DEMO_KEY"]
	var ids []string
	for _, gw := range gateways {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"prod stack"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", gw, resp.StatusCode, body)
		}
		ids = append(ids, resp.Header.Get("X-Request-ID"))
	}

	db, err := pgx.Connect(ctx, stack.Env()["AETHER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	tc, err := client.Dial(client.Options{HostPort: stack.Env()["AETHER_TEMPORAL_ADDRESS"], Namespace: stack.Env()["AETHER_TEMPORAL_NAMESPACE"]})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for i, id := range ids {
		eventually(t, 60*time.Second, fmt.Sprintf("request %s through %s recorded", id, gateways[i]), func() error {
			var status string
			var cost float64
			if err := db.QueryRow(ctx, `SELECT status, total_cost_usd FROM requests WHERE request_id = $1`, id).Scan(&status, &cost); err != nil {
				return err
			}
			if status != "completed" || cost <= 0 {
				return fmt.Errorf("status %s, cost %v", status, cost)
			}
			return nil
		})
		d, err := tc.DescribeWorkflow(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if st := d.RawResponse.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Errorf("workflow %s: %s", id, st)
		}
		// SQL visibility serves the custom search attributes.
		eventually(t, 30*time.Second, "workflow "+id+" listed by its search attributes", func() error {
			resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("WorkflowId = '%s' AND AetherModel = 'gpt-4o-mini' AND AetherStatus = 'completed'", id),
			})
			if err != nil {
				return err
			}
			if len(resp.Executions) != 1 {
				return fmt.Errorf("%d executions", len(resp.Executions))
			}
			return nil
		})
	}
}

func eventually(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
