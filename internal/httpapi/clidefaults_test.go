package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"aether/internal/llm"
	"aether/internal/testkit/gatewaytest"
)

// devGateway runs a gateway with config/dev.yaml, the configuration of
// `make dev`, pointed at the test's simulated upstream.
func devGateway(t *testing.T) *gatewaytest.Gateway {
	t.Helper()
	y, err := os.ReadFile("../../config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(y), "${AETHER_FAKE_UPSTREAM_URL:-http://127.0.0.1:9090}", "${FAKE_URL}")
	return gatewaytest.New(t, gatewaytest.Options{YAML: doc, Env: map[string]string{"AETHER_DEMO_KEY": gatewaytest.Key}})
}

// checkAsked asserts the request was answered, recorded under the name the
// client asked for, and that the upstream saw the same name.
func checkAsked(t *testing.T, g *gatewaytest.Gateway, id, model string, u llm.Usage, stream bool) {
	t.Helper()
	checkRecord(t, g, id, u, stream)
	if rec := g.Finished(t, id); rec.Meta.Model != model {
		t.Errorf("recorded under %q, want %q", rec.Meta.Model, model)
	}
	reqs := g.Fake.Requests()
	if last := reqs[len(reqs)-1]; last.Model != model {
		t.Errorf("upstream saw model %q, want %q", last.Model, model)
	}
}

// TestCLIDefaultModels sends today's default model of each CLI (Claude
// Code claude-opus-4-8 with its 1M-context beta, Codex gpt-6.1-sol, Gemini
// CLI gemini-3.5-flash-lite) through make dev's configuration, where only
// patterns serve them.
func TestCLIDefaultModels(t *testing.T) {
	t.Parallel()
	g := devGateway(t)

	t.Run("claude code", func(t *testing.T) {
		c := anthropic.NewClient(aoption.WithBaseURL(g.URL), aoption.WithAuthToken(gatewaytest.Key), aoption.WithMaxRetries(0))
		params := anthropic.MessageNewParams{Model: "claude-opus-4-8", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
		var resp *http.Response
		stream := c.Messages.NewStreaming(ctxT(t), params, aoption.WithResponseInto(&resp),
			aoption.WithHeader("anthropic-beta", "claude-code-20250219,context-1m-2025-08-07"), aoption.WithQuery("beta", "true"))
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != want {
			t.Fatalf("text %q", msg.Content[0].Text)
		}
		checkAsked(t, g, resp.Header.Get("X-Request-ID"), "claude-opus-4-8", anthropicUsage, true)
		last := g.Fake.Requests()[len(g.Fake.Requests())-1]
		if got := last.Header.Get("Anthropic-Beta"); got != "claude-code-20250219,context-1m-2025-08-07" || last.RawQuery != "beta=true" {
			t.Errorf("upstream anthropic-beta %q query %q", got, last.RawQuery)
		}
	})
	t.Run("codex", func(t *testing.T) {
		c := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1/"), ooption.WithAPIKey(gatewaytest.Key), ooption.WithMaxRetries(0))
		params := responses.ResponseNewParams{Model: "gpt-6.1-sol", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello")}}
		var resp *http.Response
		stream := c.Responses.NewStreaming(ctxT(t), params, ooption.WithResponseInto(&resp))
		var deltas string
		for stream.Next() {
			if e, ok := stream.Current().AsAny().(responses.ResponseTextDeltaEvent); ok {
				deltas += e.Delta
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if deltas != want {
			t.Fatalf("deltas %q", deltas)
		}
		checkAsked(t, g, resp.Header.Get("X-Request-ID"), "gpt-6.1-sol", openAIUsage, true)
	})
	t.Run("gemini cli", func(t *testing.T) {
		c, err := genai.NewClient(ctxT(t), &genai.ClientConfig{APIKey: gatewaytest.Key, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: g.URL + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		text := ""
		for resp, err := range c.Models.GenerateContentStream(ctxT(t), "gemini-3.5-flash-lite", genai.Text("hello"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			text += resp.Text()
		}
		if text != want {
			t.Fatalf("text %q", text)
		}
		ids := g.Recorder.IDs()
		checkAsked(t, g, ids[len(ids)-1], "gemini-3.5-flash-lite", geminiUsage, true)
	})
}

// TestPatternBodyPassesThrough: a name a pattern serves goes upstream in
// the client's body byte for byte (no rewrite, spacing and key order
// kept), and /v1/models lists concrete names only, never a pattern.
func TestPatternBodyPassesThrough(t *testing.T) {
	t.Parallel()
	g := devGateway(t)
	body := []byte("{ \"model\" : \"gpt-6.1-sol\",\n  \"input\":\"hello\", \"zeta\": [1, 2.50] }")
	req, _ := http.NewRequest("POST", g.URL+"/v1/responses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	reqs := g.Fake.Requests()
	if last := reqs[len(reqs)-1]; !bytes.Equal(last.Body, body) {
		t.Fatalf("upstream body\n%s\nwant\n%s", last.Body, body)
	}
	if rec := g.Finished(t, resp.Header.Get("X-Request-ID")); rec.Meta.Model != "gpt-6.1-sol" {
		t.Errorf("recorded under %q", rec.Meta.Model)
	}

	req, _ = http.NewRequest("GET", g.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(list), `"gpt-4o-mini"`) || strings.Contains(string(list), "*") {
		t.Errorf("/v1/models: %s", list)
	}
}
