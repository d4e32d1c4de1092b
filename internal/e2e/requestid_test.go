package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/converter"
)

const adminToken = "e2e-admin-token-0123456789abcdef0123456789"

// TestReusedRequestIDsAreRecordedApart: 100 requests that each send an
// X-Request-ID used before, half a client-made one sent again and again,
// half the X-Request-ID the gateway answered an earlier request with. Each
// gets a request ID of its own and its own record with its correlation ID,
// and each is charged: the user's spend is the sum of the 100 costs. The
// correlation ID is searchable in Temporal and in the admin API.
func TestReusedRequestIDsAreRecordedApart(t *testing.T) {
	s := newStack(t, stackOptions{env: map[string]string{"AETHER_ADMIN_TOKEN": adminToken}})
	const n = 100
	var answered []string // request IDs the gateway answered, in order
	sent := map[string]string{}
	ids := map[string]call{}
	var costs []string
	for i := range n {
		c := calls[i%len(calls)]
		clientID := fmt.Sprintf("client-trace-%d", i/2%5) // five client IDs, ten uses each
		if i%2 == 1 {
			clientID = answered[i/3] // an ID the gateway made earlier, some sent back twice
		}
		req, _ := http.NewRequest(http.MethodPost, s.url()+c.path, strings.NewReader(c.body))
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Request-ID", clientID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d (%s): %d %v %.200s", i, c.name, resp.StatusCode, err, body)
		}
		id := resp.Header.Get("X-Request-ID")
		if id == clientID || sent[id] != "" {
			t.Errorf("request %d sent X-Request-ID %q and was served as %q, an ID already in use", i, clientID, id)
		}
		if got := resp.Header.Get("X-Correlation-ID"); got != clientID {
			t.Errorf("request %d: X-Correlation-ID %q, want %q", i, got, clientID)
		}
		answered = append(answered, id)
		sent[id], ids[id] = clientID, c
		costs = append(costs, c.cost)
	}
	if len(ids) != n {
		t.Errorf("%d distinct request IDs for %d requests", len(ids), n)
	}
	rows := s.waitRows(ids, 2*time.Minute)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var count int
	var charged bool
	var spend, want string
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM requests), (SELECT spend_usd::text FROM users WHERE name = 'e2e'),
		(SELECT sum(c::numeric)::text FROM unnest($1::text[]) c), (SELECT spend_usd FROM users WHERE name = 'e2e') = (SELECT sum(c::numeric) FROM unnest($1::text[]) c)`,
		costs).Scan(&count, &spend, &want, &charged); err != nil {
		t.Fatal(err)
	}
	if count != n || len(rows) != n || !charged {
		t.Fatalf("%d requests gave %d records and a spend of %s; want %d records charged %s", n, count, spend, n, want)
	}
	checkSpend(t, s, rows)
	recorded, err := conn.Query(ctx, `SELECT request_id, coalesce(correlation_id, '') FROM requests`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(recorded, func(r pgx.CollectableRow) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if sent[r[0]] != r[1] {
			t.Errorf("request %s recorded with correlation ID %q, want %q", r[0], r[1], sent[r[0]])
		}
	}

	// The admin API lists the ten requests of one client-made ID, each
	// showing it.
	req, _ := http.NewRequest(http.MethodGet, s.url()+"/admin/v1/requests?correlation_id=client-trace-3", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Requests []struct {
			RequestID     string `json:"request_id"`
			CorrelationID string `json:"correlation_id"`
		} `json:"requests"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(list.Requests) != 10 {
		t.Fatalf("admin list by correlation ID: %d %v, %d requests, want 10", resp.StatusCode, err, len(list.Requests))
	}
	for _, r := range list.Requests {
		if r.CorrelationID != "client-trace-3" || sent[r.RequestID] != "client-trace-3" {
			t.Errorf("admin list by correlation ID gave %+v", r)
		}
	}
	req, _ = http.NewRequest(http.MethodGet, s.url()+"/admin/v1/requests/"+answered[1], nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		Request struct {
			CorrelationID string `json:"correlation_id"`
		} `json:"request"`
	}
	err = json.NewDecoder(resp.Body).Decode(&detail)
	resp.Body.Close()
	if err != nil || detail.Request.CorrelationID != answered[0] {
		t.Fatalf("admin request detail shows correlation ID %q (%v), want %q", detail.Request.CorrelationID, err, answered[0])
	}

	// Temporal finds them by the AetherCorrelationID search attribute, and
	// each workflow carries its request's fingerprint in its memo.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if c := s.temporalCount(`AetherCorrelationID="client-trace-3"`); c == 10 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("temporal workflow count by AetherCorrelationID: %d, want 10", c)
		}
	}
	d, err := s.tc.DescribeWorkflow(ctx, list.Requests[0].RequestID, "")
	if err != nil {
		t.Fatal(err)
	}
	var fp string
	if p := d.Memo.GetFields()["fingerprint"]; p == nil || converter.GetDefaultDataConverter().FromPayload(p, &fp) != nil ||
		!regexp.MustCompile(`^\d+/\d+/\d+$`).MatchString(fp) {
		t.Fatalf("workflow memo fingerprint %q", fp)
	}
}
