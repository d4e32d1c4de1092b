package fakeupstream_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"

	"aether/internal/testkit/fakeupstream"
)

func newGemini(t *testing.T, url, apiVersion string) *genai.Client {
	t.Helper()
	client, err := genai.NewClient(testContext(t), &genai.ClientConfig{
		APIKey:      "k-gemini",
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: url + "/", APIVersion: apiVersion},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// checkGeminiUsage asserts the default buckets in Gemini semantics.
func checkGeminiUsage(t *testing.T, u *genai.GenerateContentResponseUsageMetadata) {
	t.Helper()
	if u == nil {
		t.Fatal("no usageMetadata")
	}
	if u.PromptTokenCount != wantPrompt || u.CachedContentTokenCount != fakeupstream.DefaultCacheReadTokens ||
		u.CandidatesTokenCount != fakeupstream.DefaultOutputTokens || u.ThoughtsTokenCount != fakeupstream.DefaultReasoningTokens ||
		u.TotalTokenCount != wantTotal {
		t.Errorf("usage = %+v", u)
	}
}

func TestGeminiGenerateContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, apiVersion, wantPath string
	}{
		{name: "v1beta", apiVersion: "", wantPath: "/v1beta/models/gemini-2.5-flash:generateContent"},
		{name: "v1", apiVersion: "v1", wantPath: "/v1/models/gemini-2.5-flash:generateContent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, srv := newFake(t, fakeupstream.Config{})
			client := newGemini(t, srv.URL, tt.apiVersion)
			resp, err := client.Models.GenerateContent(testContext(t), "gemini-2.5-flash", genai.Text("hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text() != fakeupstream.ExpectedText(3) {
				t.Errorf("text = %q", resp.Text())
			}
			if c := resp.Candidates[0]; c.FinishReason != genai.FinishReasonStop || c.Content.Role != "model" {
				t.Errorf("candidate = %+v", c)
			}
			if resp.ModelVersion != "gemini-2.5-flash" {
				t.Errorf("modelVersion = %q", resp.ModelVersion)
			}
			checkGeminiUsage(t, resp.UsageMetadata)
			if r := fake.Requests(); len(r) != 1 || r[0].Path != tt.wantPath || r[0].Key != "k-gemini" || r[0].Model != "gemini-2.5-flash" {
				t.Errorf("recorded %+v", r)
			}
		})
	}
}

func TestGeminiGenerateContentStream(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 5}})
	client := newGemini(t, srv.URL, "")

	var text strings.Builder
	var chunks []*genai.GenerateContentResponse
	for resp, err := range client.Models.GenerateContentStream(testContext(t), "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, resp)
		text.WriteString(resp.Text())
	}
	if len(chunks) != 5 {
		t.Fatalf("chunks = %d, want 5", len(chunks))
	}
	if text.String() != fakeupstream.ExpectedText(5) {
		t.Errorf("text = %q", text.String())
	}
	for i, c := range chunks[:4] {
		if c.UsageMetadata != nil || c.Candidates[0].FinishReason != "" {
			t.Errorf("chunk %d carries usage or finishReason", i)
		}
	}
	last := chunks[4]
	if last.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Errorf("last finishReason = %q", last.Candidates[0].FinishReason)
	}
	checkGeminiUsage(t, last.UsageMetadata)
	if r := fake.Requests(); len(r) != 1 || r[0].RawQuery != "alt=sse" || !r[0].Stream {
		t.Errorf("recorded %+v", r)
	}
}

func TestGeminiCountTokens(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	client := newGemini(t, srv.URL, "")
	got, err := client.Models.CountTokens(testContext(t), "gemini-2.5-flash", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalTokens != wantPrompt {
		t.Errorf("totalTokens = %d, want %d", got.TotalTokens, wantPrompt)
	}
}

// TestGeminiJSONArrayStream covers streamGenerateContent without alt=sse,
// which answers one JSON array written chunk by chunk.
func TestGeminiJSONArrayStream(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	resp := do(t, http.MethodPost, srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=k", geminiBody)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	body := readAll(t, resp)
	if !strings.HasPrefix(string(body), "[{") || !strings.HasSuffix(string(body), "}\n]") {
		t.Errorf("body is not a streamed array: %q", body)
	}
	var chunks []genai.GenerateContentResponse
	if err := json.Unmarshal(body, &chunks); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(chunks) != 3 {
		t.Fatalf("chunks = %d", len(chunks))
	}
	var text strings.Builder
	for i, c := range chunks {
		text.WriteString(c.Candidates[0].Content.Parts[0].Text)
		if (c.UsageMetadata != nil) != (i == 2) {
			t.Errorf("chunk %d: usageMetadata present = %v", i, c.UsageMetadata != nil)
		}
	}
	if text.String() != fakeupstream.ExpectedText(3) {
		t.Errorf("text = %q", text.String())
	}
	checkGeminiUsage(t, chunks[2].UsageMetadata)
}

func TestGeminiSSEFraming(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	resp := do(t, http.MethodPost, srv.URL+"/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", geminiBody, "X-Goog-Api-Key", "k")
	body := string(readAll(t, resp))
	if n := strings.Count(body, "\r\n\r\n"); n != 3 || !strings.HasPrefix(body, "data: {") {
		t.Errorf("want 3 data events ending in CRLF CRLF, got %q", body)
	}
}

func TestGeminiErrorViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Status: http.StatusTooManyRequests}})
	client := newGemini(t, srv.URL, "")
	_, err := client.Models.GenerateContent(testContext(t), "gemini-2.5-flash", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want genai.APIError", err)
	}
	if apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" {
		t.Errorf("error = %+v", apiErr)
	}
}
