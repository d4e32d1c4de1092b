package fakeupstream_test

import (
	"errors"
	"net/http"
	"testing"

	anthropicv1 "github.com/anthropics/anthropic-sdk-go"
	optionv1 "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"aether/internal/testkit/fakeupstream"
)

func newAnthropic(t *testing.T, url string, opts ...option.RequestOption) anthropic.Client {
	t.Helper()
	base := []option.RequestOption{
		option.WithAPIKey("k-anthropic"),
		option.WithBaseURL(url),
		option.WithMaxRetries(0),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

var messageParams = anthropic.MessageNewParams{
	Model:     "claude-sonnet-4-5",
	MaxTokens: 100,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
}

// checkAnthropicUsage asserts the default buckets in Anthropic semantics.
func checkAnthropicUsage(t *testing.T, u anthropic.Usage) {
	t.Helper()
	if u.InputTokens != fakeupstream.DefaultInputTokens ||
		u.CacheReadInputTokens != fakeupstream.DefaultCacheReadTokens ||
		u.CacheCreationInputTokens != fakeupstream.DefaultCacheWrite5mTokens+fakeupstream.DefaultCacheWrite1hTokens ||
		u.CacheCreation.Ephemeral5mInputTokens != fakeupstream.DefaultCacheWrite5mTokens ||
		u.CacheCreation.Ephemeral1hInputTokens != fakeupstream.DefaultCacheWrite1hTokens ||
		u.OutputTokens != wantCompletion ||
		u.OutputTokensDetails.ThinkingTokens != fakeupstream.DefaultReasoningTokens {
		t.Errorf("usage = %s", u.RawJSON())
	}
}

func TestAnthropicMessages(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{})
	client := newAnthropic(t, srv.URL)

	msg, err := client.Messages.New(testContext(t), messageParams)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Role != "assistant" || msg.StopReason != "end_turn" || msg.Model != "claude-sonnet-4-5" {
		t.Errorf("message = %s", msg.RawJSON())
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != fakeupstream.ExpectedText(3) {
		t.Errorf("content = %+v", msg.Content)
	}
	checkAnthropicUsage(t, msg.Usage)
	// SDK v2 authenticates with Bearer.
	if r := fake.Requests(); len(r) != 1 || r[0].Key != "k-anthropic" || r[0].Header.Get("Authorization") == "" {
		t.Errorf("recorded %+v", r)
	}
}

func TestAnthropicMessagesStream(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 12}})
	client := newAnthropic(t, srv.URL)

	stream := client.Messages.NewStreaming(testContext(t), messageParams)
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "message_start" && ev.Message.Usage.OutputTokens != 1 {
			t.Errorf("message_start output_tokens = %d, want 1", ev.Message.Usage.OutputTokens)
		}
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// The SDK skips ping: message_start, block start, 12 deltas, block stop,
	// message_delta, message_stop.
	if len(types) != 17 || types[0] != "message_start" || types[16] != "message_stop" {
		t.Errorf("events = %v", types)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != fakeupstream.ExpectedText(12) {
		t.Errorf("content = %+v", msg.Content)
	}
	if msg.StopReason != "end_turn" {
		t.Errorf("stop_reason = %q", msg.StopReason)
	}
	checkAnthropicUsage(t, msg.Usage)
}

func TestAnthropicStreamRaw(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	resp := do(t, http.MethodPost, srv.URL+"/v1/messages?beta=true", messageStream,
		"X-Api-Key", "k", "Anthropic-Version", "2023-06-01")
	events, err := readSSE(t, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if len(events) != len(want) {
		t.Fatalf("events = %+v", events)
	}
	for i, ev := range events {
		if ev.Event != want[i] {
			t.Errorf("event %d = %q, want %q", i, ev.Event, want[i])
		}
		if typ := path(decodeJSON(t, []byte(ev.Data)), "type"); typ != want[i] {
			t.Errorf("event %d data type = %v, want %q", i, typ, want[i])
		}
	}
	start := decodeJSON(t, []byte(events[0].Data))
	for key, want := range map[string]int{
		"input_tokens": 13, "cache_read_input_tokens": 17, "cache_creation_input_tokens": 5, "output_tokens": 1,
	} {
		if got := num(path(start, "message", "usage", key)); got != want {
			t.Errorf("message_start usage.%s = %d, want %d", key, got, want)
		}
	}
	if got := num(path(start, "message", "usage", "cache_creation", "ephemeral_1h_input_tokens")); got != 2 {
		t.Errorf("ephemeral_1h_input_tokens = %d", got)
	}
	delta := decodeJSON(t, []byte(events[7].Data))
	if path(delta, "delta", "stop_reason") != "end_turn" || num(path(delta, "usage", "output_tokens")) != wantCompletion {
		t.Errorf("message_delta = %s", events[7].Data)
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	client := newAnthropic(t, srv.URL)
	got, err := client.Messages.CountTokens(testContext(t), anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: messageParams.Messages,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.InputTokens != wantPrompt {
		t.Errorf("input_tokens = %d, want %d", got.InputTokens, wantPrompt)
	}
}

// TestAnthropicSDKv1 covers the x-api-key header SDK v1 and Claude Code send.
func TestAnthropicSDKv1(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{})
	client := anthropicv1.NewClient(optionv1.WithAPIKey("k-v1"), optionv1.WithBaseURL(srv.URL), optionv1.WithMaxRetries(0))
	stream := client.Messages.NewStreaming(testContext(t), anthropicv1.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 100,
		Messages:  []anthropicv1.MessageParam{anthropicv1.NewUserMessage(anthropicv1.NewTextBlock("hi"))},
	})
	var msg anthropicv1.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != fakeupstream.ExpectedText(3) || msg.Usage.CacheReadInputTokens != 17 {
		t.Errorf("message = %+v", msg)
	}
	if r := fake.Requests(); len(r) != 1 || r[0].Key != "k-v1" || r[0].Header.Get("X-Api-Key") != "k-v1" {
		t.Errorf("recorded %+v", r)
	}
}

func TestAnthropicErrorViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Status: 529}})
	client := newAnthropic(t, srv.URL)
	_, err := client.Messages.New(testContext(t), messageParams)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *anthropic.Error", err)
	}
	if apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" {
		t.Errorf("error = %d %q", apiErr.StatusCode, apiErr.Type())
	}
}
