package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/toolloop"
)

// translateYAML adds to the stack a Chat-only provider (openai-chat, as
// DeepSeek's API is) serving deepseek-chat, so clients of every format
// reach models whose providers speak another (issue 12).
var translateYAML = strings.NewReplacer(
	"models:\n", `  - name: sim-deepseek
    endpoints: [{format: openai-chat, base_url: "${FAKE_URL}"}]
    keys: [{name: only, secret: pk-deepseek-SECRET}]
models:
  - name: deepseek-chat
    routes: [{provider: sim-deepseek}]
`,
	"prices:\n", `prices:
  - {model: deepseek-chat, input: 0.27, output: 1.10, cache_read: 0.07}
`).Replace(stackYAML)

// TestTranslatedToolLoopsRecorded: the official SDKs run whole tool loops
// on models served by another format, through the real API and worker
// binaries, Postgres and Temporal: Claude Code's API on a Chat-only
// provider, Codex's Responses API on that provider and on Anthropic. The
// tool call and the final text arrive intact, and every request row holds
// the upstream's tokens and their exact cost.
func TestTranslatedToolLoopsRecorded(t *testing.T) {
	s := newStack(t, stackOptions{yaml: translateYAML})
	type loop func(ctx context.Context, base, key, model string, stream bool) (toolloop.Result, error)
	tests := []struct {
		name  string
		run   loop
		model string
		cost  string // the upstream's default usage (46 tokens) at the model's price
	}{
		// Chat usage: 18 input, 17 cache read, 11 output.
		{"anthropic client, chat upstream", toolloop.Anthropic, "deepseek-chat", "0.000018150000"},
		{"responses client, chat upstream", toolloop.Responses, "deepseek-chat", "0.000018150000"},
		// Anthropic usage: 13 input, 17 cache read, 3 + 2 cache writes, 11 output.
		{"responses client, anthropic upstream", toolloop.Responses, "claude-sonnet-4-5", "0.000232350000"},
	}
	ids := map[string]call{}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			res, err := tt.run(ctx, s.url(), gatewayKey, tt.model, stream)
			cancel()
			if err != nil {
				t.Fatalf("%s (stream %v): %v", tt.name, stream, err)
			}
			if res.Name != toolloop.Tool || !toolloop.SameJSON(res.Arguments, fakeupstream.ToolArguments) {
				t.Errorf("%s (stream %v): tool call %s(%s)", tt.name, stream, res.Name, res.Arguments)
			}
			if want := fakeupstream.ExpectedText(fakeupstream.DefaultChunks); res.Text != want {
				t.Errorf("%s (stream %v): final text %q, want %q", tt.name, stream, res.Text, want)
			}
			for _, id := range res.RequestIDs {
				ids[id] = call{name: tt.name, model: tt.model, cost: tt.cost, attempts: 1, stream: stream}
			}
		}
	}
	rows := s.waitRows(ids, 2*time.Minute)
	checkSpend(t, s, rows)
	// Each attempt's trace names the API its upstream was called with.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for id, c := range ids {
		var api string
		if err := conn.QueryRow(ctx, `SELECT coalesce(upstream_api, '') FROM request_attempts WHERE request_id = $1 AND outcome = 'success'`, id).Scan(&api); err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"deepseek-chat": "openai-chat", "claude-sonnet-4-5": "anthropic-messages"}[c.model]; api != want {
			t.Errorf("%s (%s): attempt upstream_api %q, want %q", id, c.name, api, want)
		}
	}
}
