package devstack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/jackc/pgx/v5"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"aether/internal/devstack"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/pgcluster"
	"aether/internal/testkit/temporaldev"
)

func freePort(t *testing.T) int {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// devOptions is `make dev` on a fresh data directory, every port free.
func devOptions(t *testing.T, out io.Writer) devstack.Options {
	t.Helper()
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AETHER_LISTEN":               "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_WORKER_LISTEN":        "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_FAKE_LISTEN":          "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_DEV_TEMPORAL_PORT":    strconv.Itoa(freePort(t)),
		"AETHER_DEV_TEMPORAL_UI_PORT": strconv.Itoa(freePort(t)),
		"AETHER_DEV_PG_PORT":          strconv.Itoa(freePort(t)),
	}
	return devstack.Options{Root: root, DataDir: t.TempDir(), Getenv: func(k string) string { return env[k] }, Out: out}
}

// TestDevStack runs `make dev` as a new user would (its own Postgres, its
// own Temporal with the Web UI, built binaries), sends a request for each
// dev model with the official SDKs, checks the requests are recorded, then
// stops it and starts it again on the same data.
func TestDevStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	opts := devOptions(t, &bytes.Buffer{})
	dir := opts.DataDir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("make dev failed: %v\n%s", err, opts.Out)
	}
	banner := opts.Out.(*bytes.Buffer).String()
	for _, want := range []string{stack.Env()["AETHER_GATEWAY_URL"], stack.Env()["AETHER_TEMPORAL_UI_URL"], "sk-aether-dev"} {
		if want == "" || !strings.Contains(banner, want) {
			t.Errorf("banner does not show %q:\n%s", want, banner)
		}
	}
	envFile, err := os.ReadFile(dir + "/env")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AETHER_GATEWAY_URL", "AETHER_DEMO_KEY", "AETHER_DATABASE_URL", "AETHER_TEMPORAL_ADDRESS",
		"AETHER_TEMPORAL_NAMESPACE", "AETHER_TEMPORAL_UI_URL", "AETHER_ADMIN_TOKEN"} {
		if !strings.Contains(string(envFile), "export "+k+"='") {
			t.Errorf(".dev/env lacks %s", k)
		}
	}
	gw, key := stack.Env()["AETHER_GATEWAY_URL"], stack.Env()["AETHER_DEMO_KEY"]
	want := fakeupstream.ExpectedText(fakeupstream.DefaultChunks)

	oa := openai.NewClient(ooption.WithBaseURL(gw+"/v1/"), ooption.WithAPIKey(key))
	chat, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	})
	if err != nil || chat.Choices[0].Message.Content != want {
		t.Fatalf("gpt-4o-mini: %v %+v", err, chat)
	}
	resp, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-5-codex", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello")}})
	if err != nil || resp.OutputText() != want {
		t.Fatalf("gpt-5-codex: %v %+v", err, resp)
	}
	an := anthropic.NewClient(aoption.WithBaseURL(gw), aoption.WithAPIKey(key))
	msg, err := an.Messages.New(ctx, anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
	})
	if err != nil || len(msg.Content) == 0 || msg.Content[0].Text != want {
		t.Fatalf("claude-sonnet-4-5: %v %+v", err, msg)
	}
	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: gw + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	gr, err := gc.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hello"), nil)
	if err != nil || gr.Text() != want {
		t.Fatalf("gemini-2.5-flash: %v %+v", err, gr)
	}

	// The four requests (plus make dev's own smoke request) are recorded
	// through the journal, Temporal and the worker.
	dbURL := stack.Env()["AETHER_DATABASE_URL"]
	waitRows(t, ctx, dbURL, 5)

	stack.Stop()

	// A second start reuses the data: same database, same rows, same key.
	stack2, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("second make dev failed: %v", err)
	}
	defer stack2.Stop()
	if stack2.Env()["AETHER_ADMIN_TOKEN"] != stack.Env()["AETHER_ADMIN_TOKEN"] {
		t.Error("admin token changed between runs")
	}
	waitRows(t, ctx, stack2.Env()["AETHER_DATABASE_URL"], 6) // earlier rows kept + the new smoke request
}

func waitRows(t *testing.T, ctx context.Context, dbURL string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			var got int
			err = conn.QueryRow(ctx, `SELECT count(*) FROM requests WHERE status = 'completed' AND total_cost_usd > 0`).Scan(&got)
			conn.Close(ctx)
			if err == nil && got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d completed, priced requests recorded, want %d", got, n)
			}
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockedBuffer is the banner and supervisor output, written while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDevStackRestartsCrashedChildren kill -9s the worker, the API, the
// Temporal dev server and Postgres, one after the other, under a running
// `make dev` (issue 8, item 21): each comes back on its own and says so,
// the rest keeps serving, and every request answered 200 is recorded.
func TestDevStackRestartsCrashedChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	out := &lockedBuffer{}
	opts := devOptions(t, out)
	dir := opts.DataDir
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("make dev failed: %v\n%s", err, out)
	}
	defer stack.Stop()
	t.Logf("stack up in %s", time.Since(began).Round(time.Millisecond))
	gw, key := stack.Env()["AETHER_GATEWAY_URL"], stack.Env()["AETHER_DEMO_KEY"]
	answered := 1 // make dev's own smoke request
	var ids []string
	send := func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		answered++
		ids = append(ids, resp.Header.Get("X-Request-ID"))
		return nil
	}
	kill := func(name string) {
		t.Helper()
		pid := stack.Pid(name)
		if pid == 0 {
			t.Fatalf("no pid for %s", name)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		if name != "api" {
			// The rest keeps running: the gateway answers while the
			// worker, Temporal or Postgres is down.
			if err := send(); err != nil {
				t.Fatalf("request while %s is down: %v", name, err)
			}
		}
		// Back when Pid names a new process and the stack says so.
		for !strings.Contains(out.String(), name+" is running again") {
			if time.Since(killed) > 60*time.Second {
				t.Fatalf("%s not restarted 60s after kill -9:\n%s", name, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if p := stack.Pid(name); p == pid || p == 0 {
			t.Fatalf("%s pid %d after restart (was %d)", name, p, pid)
		}
		t.Logf("%s back %s after kill -9", name, time.Since(killed).Round(time.Millisecond))
	}

	// Each child in turn: kill -9 it, wait until it is back, then send
	// requests and wait until every answered one is recorded, before the
	// next kill (a request answered in the instant before the API itself
	// is killed may lose its final event; that is the journal's business,
	// not this test's).
	dbURL := stack.Env()["AETHER_DATABASE_URL"]
	for _, name := range []string{"worker", "api", "temporal", "postgres"} {
		kill(name)
		for range 5 {
			if err := send(); err != nil {
				t.Fatalf("request after the %s restart: %v", name, err)
			}
		}
		if !t.Run("recorded after "+name, func(t *testing.T) { waitRows(t, ctx, dbURL, answered) }) {
			conn, err := pgx.Connect(ctx, dbURL)
			if err == nil {
				for _, id := range ids {
					var st string
					err := conn.QueryRow(ctx, `SELECT status || ' ' || coalesce(total_cost_usd::text, 'null') FROM requests WHERE request_id = $1`, id).Scan(&st)
					t.Logf("%s: %s %v", id, st, err)
				}
				conn.Close(ctx)
			}
			t.FailNow()
		}
	}

	text := out.String()
	for _, want := range []string{"worker exited unexpectedly (signal: killed)", "api exited unexpectedly (signal: killed)",
		"temporal exited unexpectedly", "postgres exited unexpectedly"} {
		if !strings.Contains(text, want) {
			t.Errorf("stack output lacks %q:\n%s", want, text)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "logs", "worker.log")); !strings.Contains(string(log), "devstack: worker exited unexpectedly") {
		t.Error("worker.log does not record the restart")
	}
	t.Logf("%d requests recorded; %s in all", answered, time.Since(began).Round(time.Millisecond))
}
