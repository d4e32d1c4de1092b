package fakeupstream_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"aether/internal/testkit/fakeupstream"
)

func newOpenAI(t *testing.T, url string, opts ...option.RequestOption) openai.Client {
	t.Helper()
	base := []option.RequestOption{
		option.WithAPIKey("k-openai"),
		option.WithBaseURL(url + "/v1/"),
		option.WithMaxRetries(0),
	}
	return openai.NewClient(append(base, opts...)...)
}

func TestOpenAIChat(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{})
	client := newOpenAI(t, srv.URL)

	got, err := client.Chat.Completions.New(testContext(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || got.Model != "gpt-4.1-mini" {
		t.Errorf("object %q model %q", got.Object, got.Model)
	}
	if len(got.Choices) != 1 {
		t.Fatalf("choices = %d", len(got.Choices))
	}
	if c := got.Choices[0]; c.Message.Content != fakeupstream.ExpectedText(3) || c.FinishReason != "stop" || c.Message.Role != "assistant" {
		t.Errorf("choice = %q %q %q", c.Message.Content, c.FinishReason, c.Message.Role)
	}
	u := got.Usage
	if u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion || u.TotalTokens != wantTotal ||
		u.PromptTokensDetails.CachedTokens != fakeupstream.DefaultCacheReadTokens ||
		u.CompletionTokensDetails.ReasoningTokens != fakeupstream.DefaultReasoningTokens {
		t.Errorf("usage = %s", u.RawJSON())
	}
	if r := fake.Requests(); len(r) != 1 || r[0].Key != "k-openai" || r[0].Path != "/v1/chat/completions" || r[0].Stream {
		t.Errorf("recorded %+v", r)
	}
}

func TestOpenAIChatStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		includeUsage bool
	}{
		{name: "with include_usage", includeUsage: true},
		{name: "without include_usage", includeUsage: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{})
			client := newOpenAI(t, srv.URL)
			params := openai.ChatCompletionNewParams{
				Model:    "gpt-4.1-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			}
			if tt.includeUsage {
				params.StreamOptions.IncludeUsage = openai.Bool(true)
			}
			stream := client.Chat.Completions.NewStreaming(testContext(t), params)
			var acc openai.ChatCompletionAccumulator
			var chunks, usageChunks int
			for stream.Next() {
				chunk := stream.Current()
				chunks++
				if chunks == 1 && (len(chunk.Choices) != 1 || chunk.Choices[0].Delta.Role != "assistant") {
					t.Errorf("first chunk has no assistant role: %s", chunk.RawJSON())
				}
				if len(chunk.Choices) == 0 {
					usageChunks++
				}
				if !acc.AddChunk(chunk) {
					t.Fatalf("accumulator rejected chunk %s", chunk.RawJSON())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			// role + 3 deltas + finish (+ usage)
			wantChunks, wantUsageChunks := 5, 0
			if tt.includeUsage {
				wantChunks, wantUsageChunks = 6, 1
			}
			if chunks != wantChunks || usageChunks != wantUsageChunks {
				t.Errorf("chunks = %d (usage %d), want %d (%d)", chunks, usageChunks, wantChunks, wantUsageChunks)
			}
			if got := acc.Choices[0].Message.Content; got != fakeupstream.ExpectedText(3) {
				t.Errorf("text = %q", got)
			}
			if acc.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason = %q", acc.Choices[0].FinishReason)
			}
			u := acc.Usage
			if !tt.includeUsage {
				if u.TotalTokens != 0 {
					t.Errorf("usage without include_usage: %+v", u)
				}
				return
			}
			if u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion || u.TotalTokens != wantTotal ||
				u.PromptTokensDetails.CachedTokens != fakeupstream.DefaultCacheReadTokens ||
				u.CompletionTokensDetails.ReasoningTokens != fakeupstream.DefaultReasoningTokens {
				t.Errorf("usage = %+v", u)
			}
		})
	}
}

func TestOpenAIChatStreamRaw(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	resp := do(t, http.MethodPost, srv.URL+"/chat/completions", chatStream, "Authorization", "Bearer k")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("content-type %q", ct)
	}
	events, err := readSSE(t, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(events); n != 7 || events[n-1].Data != "[DONE]" {
		t.Fatalf("events = %+v", events)
	}
	usage := decodeJSON(t, []byte(events[5].Data))
	if c, ok := usage["choices"].([]any); !ok || len(c) != 0 {
		t.Errorf(`usage chunk "choices" = %v, want []`, usage["choices"])
	}
	if got := num(path(usage, "usage", "prompt_tokens")); got != wantPrompt {
		t.Errorf("prompt_tokens = %d", got)
	}
}

func TestOpenAIResponses(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	client := newOpenAI(t, srv.URL)

	got, err := client.Responses.New(testContext(t), responses.ResponseNewParams{
		Model: "gpt-4.1-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "completed" || got.Model != "gpt-4.1-mini" {
		t.Errorf("status %q model %q", got.Status, got.Model)
	}
	if text := got.OutputText(); text != fakeupstream.ExpectedText(3) {
		t.Errorf("output text = %q", text)
	}
	checkResponsesUsage(t, got.Usage)
}

func checkResponsesUsage(t *testing.T, u responses.ResponseUsage) {
	t.Helper()
	if u.InputTokens != wantPrompt || u.OutputTokens != wantCompletion || u.TotalTokens != wantTotal ||
		u.InputTokensDetails.CachedTokens != fakeupstream.DefaultCacheReadTokens ||
		u.OutputTokensDetails.ReasoningTokens != fakeupstream.DefaultReasoningTokens {
		t.Errorf("usage = %s", u.RawJSON())
	}
}

func TestOpenAIResponsesStream(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	client := newOpenAI(t, srv.URL)

	stream := client.Responses.NewStreaming(testContext(t), responses.ResponseNewParams{
		Model: "gpt-4.1-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	var (
		types     []string
		deltas    string
		doneText  string
		itemID    string
		completed *responses.Response
	)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != int64(len(types)) || !ev.JSON.SequenceNumber.Valid() {
			t.Errorf("event %q sequence_number = %d, want %d", ev.Type, ev.SequenceNumber, len(types))
		}
		types = append(types, ev.Type)
		switch e := ev.AsAny().(type) {
		case responses.ResponseOutputItemAddedEvent:
			itemID = e.Item.ID
			if e.Item.Type != "message" || !e.JSON.OutputIndex.Valid() {
				t.Errorf("output_item.added = %s", e.RawJSON())
			}
		case responses.ResponseContentPartAddedEvent:
			if e.ItemID != itemID || !e.JSON.OutputIndex.Valid() || !e.JSON.ContentIndex.Valid() || e.Part.Type != "output_text" {
				t.Errorf("content_part.added = %s", e.RawJSON())
			}
		case responses.ResponseTextDeltaEvent:
			if e.ItemID != itemID || !e.JSON.OutputIndex.Valid() || !e.JSON.ContentIndex.Valid() || !e.JSON.Logprobs.Valid() {
				t.Errorf("output_text.delta = %s", e.RawJSON())
			}
			deltas += e.Delta
		case responses.ResponseTextDoneEvent:
			doneText = e.Text
		case responses.ResponseOutputItemDoneEvent:
			if e.Item.ID != itemID || e.Item.Status != "completed" {
				t.Errorf("output_item.done = %s", e.RawJSON())
			}
		case responses.ResponseCompletedEvent:
			completed = &e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
	}
	if len(types) != len(want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events = %v, want %v", types, want)
		}
	}
	if text := fakeupstream.ExpectedText(3); deltas != text || doneText != text {
		t.Errorf("deltas %q done %q", deltas, doneText)
	}
	if completed == nil || completed.Status != "completed" || completed.OutputText() != fakeupstream.ExpectedText(3) {
		t.Fatalf("response.completed = %+v", completed)
	}
	checkResponsesUsage(t, completed.Usage)
}

func TestOpenAIErrorViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Status: http.StatusTooManyRequests}})
	client := newOpenAI(t, srv.URL)
	_, err := client.Chat.Completions.New(testContext(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *openai.Error", err)
	}
	if apiErr.StatusCode != 429 || apiErr.Type != "requests" || apiErr.Code != "rate_limit_exceeded" || apiErr.Message == "" {
		t.Errorf("error = %d %q %q %q", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message)
	}
}
