package console_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/procs"
	"aether/internal/testkit/temporaldev"
	"aether/internal/testkit/testenv"
)

// screenshots is where the browser test saves one PNG per page
// (gitignored).
const screenshots = "screenshots"

// stack runs the real API and worker binaries over the test's own
// database, the test binary's Temporal dev server and a simulated
// upstream, so requests sent through the gateway are recorded by the
// worker and show up in the console.
type stack struct {
	url, fakeURL string
}

func startStack(t *testing.T) stack {
	t.Helper()
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/api", "./cmd/worker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fake := fakeupstream.New(fakeupstream.Config{})
	fs := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); fs.Close() })
	addr, ns := testenv.Temporal(t)
	dir := t.TempDir()
	port := func() string {
		p, err := pgcluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return "127.0.0.1:" + strconv.Itoa(p)
	}
	api, wrk := port(), port()
	env := map[string]string{
		"AETHER_DATABASE_URL":       testenv.DatabaseURL(t),
		"AETHER_TEMPORAL_ADDRESS":   addr,
		"AETHER_TEMPORAL_NAMESPACE": ns,
		"AETHER_ENCRYPTION_KEY":     strings.Repeat("5a", 32),
		"AETHER_ADMIN_TOKEN":        adminToken,
		"AETHER_LISTEN":             api,
		"AETHER_WORKER_LISTEN":      wrk,
		"AETHER_JOURNAL_DIR":        dir + "/journal",
		"AETHER_SHUTDOWN_TIMEOUT":   "5s",
		"AETHER_SNAPSHOT_REFRESH":   "200ms",
	}
	for _, p := range []struct{ name, addr string }{{"worker", wrk}, {"api", api}} {
		proc, err := procs.Start(p.name, bin+"/"+p.name, dir, env, dir+"/"+p.name+".log")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			proc.Stop(10 * time.Second)
			if t.Failed() {
				t.Logf("--- %s log ---\n%s", proc.Name, proc.Tail(40))
			}
		})
		if err := proc.WaitHealthy(context.Background(), "http://"+p.addr+"/healthz", 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return stack{url: "http://" + api, fakeURL: fs.URL}
}

// TestConsoleInBrowser drives the console in headless Chromium: log in,
// create a provider with a key, a model with a price, a user and a
// gateway key through the forms, send a request with that key, then find
// it in the request list and check its cost on its detail page.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run make chromium (Debian's chromium package)")
	}
	s := startStack(t)
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	dialogs := make(chan string, 4)
	events := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			select {
			case dialogs <- ev.Message:
			default:
			}
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(screenshots, name+".png"), png, 0o644)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	set := func(sel, v string) chromedp.Action[chromedp.Void] { return chromedp.SetValue(css(sel), v) }
	u := s.url + "/console"

	run("log in",
		chromedp.Navigate(u+"/"),
		chromedp.WaitVisible(css(`input[name="token"]`)),
		shot("login"),
		chromedp.SendKeys(css(`input[name="token"]`), adminToken),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#stat-requests`)))

	run("a provider with a key",
		chromedp.Navigate(u+"/providers"),
		set(`#provider-form input[name="name"]`, "sim"),
		set(`#provider-form select[name="endpoints[0].format"]`, "openai"),
		set(`#provider-form input[name="endpoints[0].base_url"]`, s.fakeURL+"/v1"),
		set(`#provider-form input[name="keys[0].name"]`, "main"),
		set(`#provider-form input[name="keys[0].secret"]`, "pk-console-SECRET-1234"),
		chromedp.Submit(css(`#provider-form`)),
		chromedp.WaitVisible(css(`section[data-provider="sim"]`)))

	run("a field error beside its field",
		set(`#provider-form input[name="name"]`, "broken"),
		set(`#provider-form select[name="endpoints[0].format"]`, "openai"),
		set(`#provider-form input[name="endpoints[0].base_url"]`, "ftp://nowhere"),
		chromedp.Submit(css(`#provider-form`)),
		chromedp.WaitVisible(css(`#provider-form .err[data-field]`)))
	if e := text(`#provider-form .err[data-field="endpoints[0].base_url"]`); e == "" {
		t.Error("no error beside the base URL")
	}

	run("a provider named like a script",
		chromedp.Navigate(u+"/providers"),
		set(`#provider-form input[name="name"]`, "<script>alert(1)</script>"),
		set(`#provider-form select[name="endpoints[0].format"]`, "openai"),
		set(`#provider-form input[name="endpoints[0].base_url"]`, s.fakeURL+"/v1"),
		chromedp.Submit(css(`#provider-form`)),
		chromedp.WaitVisible(css(`section.provider:nth-of-type(2)`)),
		chromedp.Sleep(300*time.Millisecond),
		shot("providers"))
	xss := text(`main`)
	if !strings.Contains(xss, "<script>alert(1)</script>") {
		t.Error("the script-like name is not shown as text")
	}
	src, err := chromedp.Run(ctx, chromedp.OuterHTML(css(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(src, "pk-console-SECRET-1234") {
		t.Error("the provider key's secret is rendered")
	}

	run("a model with a price",
		chromedp.Navigate(u+"/models"),
		set(`#model-form input[name="name"]`, "console-model"),
		set(`#model-form select[name="routes[0].provider"]`, "sim"),
		set(`#model-form input[name="routes[0].upstream_model"]`, "gpt-4o-mini"),
		chromedp.Submit(css(`#model-form`)),
		chromedp.WaitVisible(css(`#models`)),
		set(`#price-form input[name="model"]`, "console-model"),
		set(`#price-form input[name="input"]`, "2"),
		set(`#price-form input[name="output"]`, "8"),
		chromedp.Submit(css(`#price-form`)),
		chromedp.WaitVisible(css(`#prices`)),
		shot("models"))

	run("a user and a gateway key",
		chromedp.Navigate(u+"/users"),
		set(`#user-form input[name="name"]`, "alice"),
		set(`#user-form input[name="budget_usd"]`, "10"),
		set(`#user-form input[name="rpm_limit"]`, "600"),
		chromedp.Submit(css(`#user-form`)),
		chromedp.WaitVisible(css(`#users`)),
		set(`#key-form select[name="user"]`, "alice"),
		set(`#key-form input[name="name"]`, "alice-laptop"),
		set(`#key-form input[name="budget_usd"]`, "5"),
		chromedp.Submit(css(`#key-form`)),
		chromedp.WaitVisible(css(`#new-key`)))
	key := text(`#new-key`)
	if !strings.HasPrefix(key, "sk-aether-") {
		t.Fatalf("new key %q", key)
	}

	// A request through the gateway with the new key, to the simulated
	// upstream. The snapshot refreshes every 200 ms.
	var reqID string
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("POST", s.url+"/v1/chat/completions",
			strings.NewReader(`{"model":"console-model","messages":[{"role":"user","content":"hello"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			reqID = resp.Header.Get("X-Request-Id")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway: %d %s", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The worker records it through Temporal; the list shows it once
	// recorded with its cost.
	for i := 0; ; i++ {
		run("request list",
			chromedp.Navigate(u+"/requests?model=console-model&status=completed"),
			chromedp.WaitVisible(css(`#requests`)))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#requests a[href^="/console/requests/"]').length`))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if i == 60 {
			t.Fatal("the request never showed up in the list")
		}
		time.Sleep(time.Second)
	}
	run("request list screenshot", shot("requests"))

	run("request detail",
		chromedp.Click(css(`#requests a[href^="/console/requests/"]`)),
		chromedp.WaitVisible(css(`#attempts`)),
		shot("request"))
	total, in, out := text(`#cost-total`), text(`#usage-input`), text(`#usage-output`)
	// The prices set through the form: input 2, output 8 USD per million.
	num := func(v string) float64 { f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64); return f }
	inN, outN := num(in), num(out)
	if inN == 0 || outN == 0 {
		t.Fatalf("usage: %q input, %q output", in, out)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if got := num(text(`#cost-input`)); !near(got, inN*2/1e6) {
		t.Errorf("input cost %v for %v tokens, want %v", got, inN, inN*2/1e6)
	}
	if got := num(text(`#cost-output`)); !near(got, outN*8/1e6) {
		t.Errorf("output cost %v for %v tokens, want %v", got, outN, outN*8/1e6)
	}
	parts := num(text(`#cost-input`)) + num(text(`#cost-output`)) + num(text(`#cost-cache-read`)) +
		num(text(`#cost-cache-write`)) + num(text(`#cost-request`))
	if !near(num(total), parts) || num(total) == 0 {
		t.Errorf("total cost %q, parts sum to %v", total, parts)
	}
	if reqID != "" {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if !strings.HasSuffix(loc, reqID) {
			t.Logf("detail %s, gateway request ID %s", loc, reqID)
		}
	}

	run("overview, users and audit log",
		chromedp.Navigate(u+"/"),
		chromedp.WaitVisible(css(`#stat-requests`)),
		shot("overview"),
		chromedp.Navigate(u+"/users"),
		chromedp.WaitVisible(css(`#users`)),
		shot("users"),
		chromedp.Navigate(u+"/audit"),
		chromedp.WaitVisible(css(`#audit`)),
		shot("audit"))
	run("overview", chromedp.Navigate(u+"/"), chromedp.WaitVisible(css(`#stat-requests`)))
	if text(`#stat-requests`) == "0" {
		t.Error("the overview counts no request")
	}
	// The overview's script replaces its live panel every 5 s: a mark set
	// on the old panel's content is gone after a refresh.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById('stat-requests').dataset.mark = '1') === '1'`)); err != nil {
		t.Fatal(err)
	}
	run("wait for a refresh", chromedp.Sleep(6500*time.Millisecond))
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('stat-requests').dataset.mark || ''`))
	if err != nil || mark != "" {
		t.Errorf("the overview did not refresh (mark %q, %v)", mark, err)
	}

	run("log out",
		chromedp.Click(css(`#logout`)),
		chromedp.WaitVisible(css(`input[name="token"]`)),
		chromedp.Navigate(u+"/users"),
		chromedp.WaitVisible(css(`input[name="token"]`)))

	select {
	case m := <-dialogs:
		t.Errorf("a script ran in the page (dialog %q)", m)
	default:
	}
}
