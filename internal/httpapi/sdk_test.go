package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	anthropicv1 "github.com/anthropics/anthropic-sdk-go"
	optionv1 "github.com/anthropics/anthropic-sdk-go/option"
	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var want = fakeupstream.ExpectedText(fakeupstream.DefaultChunks)

// Normalised usage of the simulated upstream's default token counts in
// each format (see fakeupstream's package doc): OpenAI and Gemini report
// cache writes as ordinary prompt tokens and include cached tokens in the
// prompt count; Anthropic reports every bucket apart.
var (
	openAIUsage    = llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}
	anthropicUsage = llm.Usage{InputTokens: 13, CacheReadTokens: 17, CacheWrite5mTokens: 3, CacheWrite1hTokens: 2, OutputTokens: 11, Known: true}
	geminiUsage    = llm.Usage{InputTokens: 18, CacheReadTokens: 17, OutputTokens: 11, ReasoningTokens: 4, Known: true}
)

func openAIClient(g *gatewaytest.Gateway) openai.Client {
	return openai.NewClient(ooption.WithBaseURL(g.URL+"/v1/"), ooption.WithAPIKey(gatewaytest.Key), ooption.WithMaxRetries(0))
}

// checkRecord asserts the request finished completed with usage u.
func checkRecord(t *testing.T, g *gatewaytest.Gateway, id string, u llm.Usage, stream bool) {
	t.Helper()
	if id == "" {
		t.Fatal("response has no X-Request-ID")
	}
	rec := g.Finished(t, id)
	out := rec.Outcome
	if out.Status != llm.StatusCompleted || out.StatusCode != 200 {
		t.Errorf("outcome %s %d (%s)", out.Status, out.StatusCode, out.ErrorClass)
	}
	if out.Usage != u {
		t.Errorf("usage = %+v, want %+v", out.Usage, u)
	}
	if rec.Meta.Stream != stream {
		t.Errorf("stream flag = %v, want %v", rec.Meta.Stream, stream)
	}
	if stream && rec.FirstByte.IsZero() {
		t.Error("no first-byte event for a stream")
	}
	if len(out.Attempts) != 1 || out.Attempts[0].Outcome != llm.OutcomeSuccess {
		t.Errorf("attempts = %+v", out.Attempts)
	}
}

func TestOpenAIChat(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	c := openAIClient(g)
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}

	t.Run("non-stream", func(t *testing.T) {
		var resp *http.Response
		got, err := c.Chat.Completions.New(ctxT(t), params, ooption.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Message.Content != want || got.Usage.PromptTokens != 35 {
			t.Fatalf("got %q usage %+v", got.Choices[0].Message.Content, got.Usage)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), openAIUsage, false)
	})
	t.Run("stream without include_usage", func(t *testing.T) {
		var resp *http.Response
		stream := c.Chat.Completions.NewStreaming(ctxT(t), params, ooption.WithResponseInto(&resp))
		var acc openai.ChatCompletionAccumulator
		chunks := 0
		for stream.Next() {
			chunk := stream.Current()
			if len(chunk.Choices) == 0 {
				t.Errorf("client received a usage-only chunk it never asked for: %s", chunk.RawJSON())
			}
			acc.AddChunk(chunk)
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != want {
			t.Fatalf("text %q", acc.Choices[0].Message.Content)
		}
		// The gateway asked the upstream for usage on the client's behalf.
		last := g.Fake.Requests()[len(g.Fake.Requests())-1]
		if string(last.Body) == "" || !containsAll(string(last.Body), `"include_usage":true`, `"stream":true`) {
			t.Errorf("upstream body %s lacks include_usage", last.Body)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), openAIUsage, true)
	})
	t.Run("stream with include_usage", func(t *testing.T) {
		var resp *http.Response
		p := params
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := c.Chat.Completions.NewStreaming(ctxT(t), p, ooption.WithResponseInto(&resp))
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Usage.PromptTokens != 35 || acc.Usage.CompletionTokens != 11 {
			t.Fatalf("client did not receive the usage it asked for: %+v", acc.Usage)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), openAIUsage, true)
	})
}

func TestOpenAIResponses(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	c := openAIClient(g)
	params := responses.ResponseNewParams{Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello")}}

	t.Run("non-stream", func(t *testing.T) {
		var resp *http.Response
		got, err := c.Responses.New(ctxT(t), params, ooption.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if got.OutputText() != want {
			t.Fatalf("text %q", got.OutputText())
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), openAIUsage, false)
	})
	t.Run("stream", func(t *testing.T) {
		var resp *http.Response
		stream := c.Responses.NewStreaming(ctxT(t), params, ooption.WithResponseInto(&resp))
		var completed *responses.Response
		var deltas string
		for stream.Next() {
			switch e := stream.Current().AsAny().(type) {
			case responses.ResponseTextDeltaEvent:
				deltas += e.Delta
			case responses.ResponseCompletedEvent:
				completed = &e.Response
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if deltas != want || completed == nil || completed.Usage.InputTokensDetails.CachedTokens != 17 {
			t.Fatalf("deltas %q completed %+v", deltas, completed)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), openAIUsage, true)
	})
}

var anthropicParams = anthropic.MessageNewParams{
	Model: "claude-sonnet-4-5", MaxTokens: 64,
	Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
}

// TestAnthropicV2Bearer uses SDK v2, which sends the key as
// Authorization: Bearer (as Claude Code does with ANTHROPIC_AUTH_TOKEN).
func TestAnthropicV2Bearer(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	c := anthropic.NewClient(aoption.WithBaseURL(g.URL), aoption.WithAuthToken(gatewaytest.Key), aoption.WithMaxRetries(0))

	t.Run("non-stream", func(t *testing.T) {
		var resp *http.Response
		msg, err := c.Messages.New(ctxT(t), anthropicParams, aoption.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != want {
			t.Fatalf("text %q", msg.Content[0].Text)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), anthropicUsage, false)
		last := g.Fake.Requests()[len(g.Fake.Requests())-1]
		if last.Model != "claude-sonnet-4-5-20250929" || last.Key != "k-anthropic-primary" || last.Header.Get("Authorization") != "" {
			t.Errorf("upstream saw model %q key %q auth %q", last.Model, last.Key, last.Header.Get("Authorization"))
		}
	})
	t.Run("stream", func(t *testing.T) {
		var resp *http.Response
		stream := c.Messages.NewStreaming(ctxT(t), anthropicParams, aoption.WithResponseInto(&resp))
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != want || msg.StopReason != "end_turn" {
			t.Fatalf("message %+v", msg)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), anthropicUsage, true)
	})
	t.Run("count_tokens", func(t *testing.T) {
		n := len(g.Recorder.IDs())
		got, err := c.Messages.CountTokens(ctxT(t), anthropic.MessageCountTokensParams{
			Model: "claude-sonnet-4-5", Messages: anthropicParams.Messages,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.InputTokens != 35 {
			t.Fatalf("input_tokens %d", got.InputTokens)
		}
		last := g.Fake.Requests()[len(g.Fake.Requests())-1]
		if last.Path != "/v1/messages/count_tokens" {
			t.Fatalf("forwarded to %s", last.Path)
		}
		if len(g.Recorder.IDs()) != n {
			t.Fatal("count_tokens was recorded as usage")
		}
	})
}

// TestAnthropicV1APIKey uses SDK v1, which sends x-api-key (Claude Code
// with ANTHROPIC_API_KEY).
func TestAnthropicV1APIKey(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	c := anthropicv1.NewClient(optionv1.WithBaseURL(g.URL), optionv1.WithAPIKey(gatewaytest.Key), optionv1.WithMaxRetries(0))
	params := anthropicv1.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropicv1.MessageParam{anthropicv1.NewUserMessage(anthropicv1.NewTextBlock("hello"))},
	}
	t.Run("non-stream", func(t *testing.T) {
		var resp *http.Response
		msg, err := c.Messages.New(ctxT(t), params, optionv1.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != want {
			t.Fatalf("text %q", msg.Content[0].Text)
		}
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), anthropicUsage, false)
	})
	t.Run("stream", func(t *testing.T) {
		var resp *http.Response
		stream := c.Messages.NewStreaming(ctxT(t), params, optionv1.WithResponseInto(&resp))
		var msg anthropicv1.Message
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
		checkRecord(t, g, resp.Header.Get("X-Request-ID"), anthropicUsage, true)
	})
	t.Run("count_tokens", func(t *testing.T) {
		got, err := c.Messages.CountTokens(ctxT(t), anthropicv1.MessageCountTokensParams{Model: "claude-sonnet-4-5", Messages: params.Messages})
		if err != nil || got.InputTokens != 35 {
			t.Fatalf("count_tokens %v %+v", err, got)
		}
	})
}

func TestGemini(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	c, err := genai.NewClient(ctxT(t), &genai.ClientConfig{APIKey: gatewaytest.Key, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: g.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	lastID := func() string { ids := g.Recorder.IDs(); return ids[len(ids)-1] }

	t.Run("generate", func(t *testing.T) {
		got, err := c.Models.GenerateContent(ctxT(t), "gemini-2.5-flash", genai.Text("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text() != want {
			t.Fatalf("text %q", got.Text())
		}
		checkRecord(t, g, lastID(), geminiUsage, false)
	})
	t.Run("stream", func(t *testing.T) {
		text := ""
		for resp, err := range c.Models.GenerateContentStream(ctxT(t), "gemini-2.5-flash", genai.Text("hello"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			text += resp.Text()
		}
		if text != want {
			t.Fatalf("text %q", text)
		}
		checkRecord(t, g, lastID(), geminiUsage, true)
		last := g.Fake.Requests()[len(g.Fake.Requests())-1]
		if last.RawQuery != "alt=sse" || last.Key != "k-gemini-primary" {
			t.Errorf("upstream query %q key %q", last.RawQuery, last.Key)
		}
	})
	t.Run("count tokens", func(t *testing.T) {
		got, err := c.Models.CountTokens(ctxT(t), "gemini-2.5-flash", genai.Text("hello"), nil)
		if err != nil || got.TotalTokens != 35 {
			t.Fatalf("countTokens %v %+v", err, got)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		found := false
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
