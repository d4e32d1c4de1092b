package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"aether/internal/admin"
	"aether/internal/console"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

// benchData is the console over one database of the benchmarks.
type benchData struct {
	h  http.Handler
	ck *http.Cookie
	st *store.Store
}

// benchConsole is the console over a database of 1,000,000 requests, one
// every spacing (2.592 s: over the last 30 days, about 33,000 in the last
// 24 hours; 86.4 ms: all in the last 24 hours),
// from 50 users on 5 models and 3 providers, one in 20 failed; vacuumed
// and analyzed, as autovacuum leaves a table in service; the overview's
// hourly sums hold every request, as RecordFinal leaves them.
func benchConsole(b *testing.B, spacing string) benchData {
	b.Helper()
	var d benchData
	{
		st := testenv.Store(b)
		d.st = st
		ctx := context.Background()
		_, err := st.Pool.Exec(ctx, `INSERT INTO requests (request_id, user_id, api_key_id, model, provider, api_format, status,
			status_code, input_tokens, output_tokens, total_tokens, cost_known, total_cost_usd, first_byte_ms, total_ms, created_at, finished_at)
			SELECT 'bench-' || g, 1 + g % 50, 1 + g % 50, 'model-' || g % 5, 'provider-' || g % 3, 'openai',
				CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'completed' END, CASE WHEN g % 20 = 0 THEN 502 ELSE 200 END,
				100 + g % 900, 50 + g % 400, 150 + g % 900 + g % 400, true, (g % 1000) * 0.000001, 20 + g % 200, 100 + g % 3000,
				now() - g * $1::interval, now() - g * $1::interval + interval '1 second'
			FROM generate_series(1, 1000000) AS g`, spacing)
		if err != nil {
			b.Fatal(err)
		}
		// The overview's hourly sums, by the statements RecordFinal runs
		// for each request it finishes, here in batches.
		ids := make([]string, 0, 50000)
		for g := 1; g <= 1000000; g++ {
			ids = append(ids, "bench-"+strconv.Itoa(g))
			if len(ids) == cap(ids) {
				if err := st.AddToHours(ctx, ids); err != nil {
					b.Fatal(err)
				}
				ids = ids[:0]
			}
		}
		if _, err := st.Pool.Exec(ctx, `VACUUM ANALYZE requests, request_stats_hourly, request_latency_hourly`); err != nil {
			b.Fatal(err)
		}
		c := console.New(console.Config{Admin: admin.Config{Token: adminToken, Store: st, TemporalUIURL: "http://127.0.0.1:8233", Namespace: "default"}})
		d.h = http.StripPrefix("/console", c.Routes())
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"token": {adminToken}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		d.h.ServeHTTP(w, r)
		for _, ck := range w.Result().Cookies() {
			d.ck = ck
		}
	}
	if d.ck == nil {
		b.Fatal("no session")
	}
	return d
}

func benchPage(b *testing.B, h http.Handler, ck *http.Cookie, path string) {
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(ck)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
	}
}

// BenchmarkConsole renders the overview (the last 24 hours per hour with
// latency percentiles, and the top models, users and providers, from the
// hourly sums), the first page of the request list, and the first page of
// one model's failed requests; store_aggregates is the admin API's
// aggregate, which the overview no longer calls.
func BenchmarkConsole(b *testing.B) { benchConsolePages(b, "2592 milliseconds") }

// BenchmarkConsoleBusyDay is the same with all 1,000,000 requests in the
// last 24 hours: the overview then sums every one of them.
func BenchmarkConsoleBusyDay(b *testing.B) { benchConsolePages(b, "86.4 milliseconds") }

func benchConsolePages(b *testing.B, spacing string) {
	d := benchConsole(b, spacing)
	h, ck := d.h, d.ck
	b.Run("overview", func(b *testing.B) { benchPage(b, h, ck, "/console/") })
	b.Run("requests", func(b *testing.B) { benchPage(b, h, ck, "/console/requests") })
	b.Run("requests_filtered", func(b *testing.B) { benchPage(b, h, ck, "/console/requests?model=model-0&status=failed") })
	st := d.st
	to := time.Now()
	from := to.Add(-24 * time.Hour)
	b.Run("store_overview", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.ConsoleOverview(context.Background(), from, to); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store_aggregates", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Aggregates(context.Background(), "model", from, to); err != nil {
				b.Fatal(err)
			}
		}
	})
}
