package devstack_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
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
	"aether/internal/fakeupstream"
	"aether/internal/pgcluster"
	"aether/internal/temporaldev"
)

func freePort(t *testing.T) int {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevStack runs `make dev` as a new user would (its own Postgres, its
// own Temporal with the Web UI, built binaries), sends a request for each
// dev model with the official SDKs, checks the requests are recorded, then
// stops it and starts it again on the same data.
func TestDevStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, err := temporaldev.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{
		"AETHER_LISTEN":               "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_WORKER_LISTEN":        "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_FAKE_LISTEN":          "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"AETHER_DEV_TEMPORAL_PORT":    strconv.Itoa(freePort(t)),
		"AETHER_DEV_TEMPORAL_UI_PORT": strconv.Itoa(freePort(t)),
		"AETHER_DEV_PG_PORT":          strconv.Itoa(freePort(t)),
	}
	opts := devstack.Options{Root: root, DataDir: dir, Getenv: func(k string) string { return env[k] }, Out: &bytes.Buffer{}}
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
