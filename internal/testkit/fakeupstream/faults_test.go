package fakeupstream_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"aether/internal/testkit/fakeupstream"
)

// endpointCase is one streaming endpoint driven by raw HTTP.
type endpointCase struct {
	name    string
	path    string
	body    string
	headers []string
}

var streamEndpoints = []endpointCase{
	{name: "openai chat", path: "/v1/chat/completions", body: chatStream, headers: []string{"Authorization", "Bearer k"}},
	{name: "openai responses", path: "/v1/responses", body: respStream, headers: []string{"Authorization", "Bearer k"}},
	{name: "anthropic", path: "/v1/messages", body: messageStream, headers: []string{"X-Api-Key", "k"}},
	{name: "gemini sse", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: geminiBody, headers: []string{"X-Goog-Api-Key", "k"}},
}

func TestErrorStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		path, body string
		headers    []string
		// check asserts the error body; typ is the type (or Gemini status).
		check func(t *testing.T, body map[string]any) (typ, msg string)
		want  string
	}{
		{
			name: "openai 429", path: "/v1/chat/completions", body: chatBody,
			headers: []string{"Authorization", "Bearer k", fakeupstream.HeaderStatus, "429", fakeupstream.HeaderRetryAfter, "2s"},
			check:   openAIErrorBody, want: "requests",
		},
		{
			name: "openai 400 with error type", path: "/v1/responses", body: respStream,
			headers: []string{"Authorization", "Bearer k", fakeupstream.HeaderStatus, "400", fakeupstream.HeaderErrorType, "invalid_request_error", fakeupstream.HeaderRetryAfter, "2"},
			check:   openAIErrorBody, want: "invalid_request_error",
		},
		{
			name: "anthropic 429", path: "/v1/messages", body: messagesBody,
			headers: []string{"X-Api-Key", "k", fakeupstream.HeaderStatus, "429", fakeupstream.HeaderRetryAfter, "1500ms"},
			check:   anthropicErrorBody, want: "rate_limit_error",
		},
		{
			name: "anthropic 529 stream", path: "/v1/messages", body: messageStream,
			headers: []string{"Authorization", "Bearer k", fakeupstream.HeaderStatus, "529", fakeupstream.HeaderRetryAfter, "2"},
			check:   anthropicErrorBody, want: "overloaded_error",
		},
		{
			name: "gemini 429", path: "/v1beta/models/gemini-2.5-flash:generateContent", body: geminiBody,
			headers: []string{"X-Goog-Api-Key", "k", fakeupstream.HeaderStatus, "429", fakeupstream.HeaderRetryAfter, "2"},
			check:   geminiErrorBody, want: "RESOURCE_EXHAUSTED",
		},
		{
			name: "gemini 503 stream", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: geminiBody,
			headers: []string{"X-Goog-Api-Key", "k", fakeupstream.HeaderStatus, "503", fakeupstream.HeaderRetryAfter, "2"},
			check:   geminiErrorBody, want: "UNAVAILABLE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, http.MethodPost, srv.URL+tt.path, tt.body, tt.headers...)
			wantStatus := tt.headers[3]
			if got := resp.Status[:3]; got != wantStatus {
				t.Errorf("status = %s, want %s", resp.Status, wantStatus)
			}
			if got := resp.Header.Get("Retry-After"); got != "2" {
				t.Errorf("retry-after = %q, want 2", got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type = %q", ct)
			}
			typ, msg := tt.check(t, decodeJSON(t, readAll(t, resp)))
			if typ != tt.want || msg == "" {
				t.Errorf("type %q message %q, want type %q", typ, msg, tt.want)
			}
		})
	}
}

func openAIErrorBody(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || len(body) != 1 {
		t.Fatalf("not an OpenAI error body: %v", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error.%s missing", k)
		}
	}
	if e["param"] != nil {
		t.Errorf("error.param = %v, want null", e["param"])
	}
	typ, _ := e["type"].(string)
	msg, _ := e["message"].(string)
	return typ, msg
}

func anthropicErrorBody(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	if body["type"] != "error" {
		t.Fatalf("not an Anthropic error body: %v", body)
	}
	typ, _ := path(body, "error", "type").(string)
	msg, _ := path(body, "error", "message").(string)
	return typ, msg
}

func geminiErrorBody(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || num(e["code"]) < 400 {
		t.Fatalf("not a Gemini error body: %v", body)
	}
	typ, _ := e["status"].(string)
	msg, _ := e["message"].(string)
	return typ, msg
}

func TestMissingKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		headers                  []string
		check                    func(*testing.T, map[string]any) (string, string)
		want                     string
	}{
		{name: "openai chat", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody, check: openAIErrorBody, want: "invalid_request_error"},
		{name: "openai bearer without token", method: http.MethodPost, path: "/v1/responses", body: respStream, headers: []string{"Authorization", "Bearer "}, check: openAIErrorBody, want: "invalid_request_error"},
		{name: "openai key in x-api-key", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody, headers: []string{"X-Api-Key", "k"}, check: openAIErrorBody, want: "invalid_request_error"},
		{name: "anthropic", method: http.MethodPost, path: "/v1/messages", body: messagesBody, headers: []string{"Anthropic-Version", "2023-06-01"}, check: anthropicErrorBody, want: "authentication_error"},
		{name: "anthropic count", method: http.MethodPost, path: "/v1/messages/count_tokens", body: messagesBody, check: anthropicErrorBody, want: "authentication_error"},
		{name: "anthropic models", method: http.MethodGet, path: "/v1/models", headers: []string{"Anthropic-Version", "2023-06-01"}, check: anthropicErrorBody, want: "authentication_error"},
		{name: "gemini", method: http.MethodPost, path: "/v1beta/models/gemini-2.5-flash:generateContent", body: geminiBody, check: geminiErrorBody, want: "UNAUTHENTICATED"},
		{name: "gemini key in bearer", method: http.MethodPost, path: "/v1/models/gemini-2.5-flash:countTokens", body: geminiBody, headers: []string{"Authorization", "Bearer k"}, check: geminiErrorBody, want: "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, tt.method, srv.URL+tt.path, tt.body, tt.headers...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", resp.StatusCode)
			}
			if typ, _ := tt.check(t, decodeJSON(t, readAll(t, resp))); typ != tt.want {
				t.Errorf("type = %q, want %q", typ, tt.want)
			}
			if fake.CountKey("") != 1 {
				t.Errorf("keyless requests counted = %d, want 1", fake.CountKey(""))
			}
		})
	}
}

func TestAcceptedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, body string
		headers          []string
	}{
		{name: "anthropic x-api-key", path: "/v1/messages", body: messagesBody, headers: []string{"X-Api-Key", "key-1"}},
		{name: "anthropic bearer", path: "/v1/messages", body: messagesBody, headers: []string{"Authorization", "Bearer key-1"}},
		{name: "gemini header", path: "/v1beta/models/m:generateContent", body: geminiBody, headers: []string{"X-Goog-Api-Key", "key-1"}},
		{name: "gemini query", path: "/v1beta/models/m:generateContent?key=key-1", body: geminiBody},
		{name: "openai bearer", path: "/v1/chat/completions", body: chatBody, headers: []string{"Authorization", "Bearer key-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, http.MethodPost, srv.URL+tt.path, tt.body, tt.headers...)
			readAll(t, resp)
			if resp.StatusCode != http.StatusOK || fake.CountKey("key-1") != 1 {
				t.Errorf("status %d, key-1 count %d", resp.StatusCode, fake.CountKey("key-1"))
			}
		})
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		headers    []string
		check      func(t *testing.T, body map[string]any)
	}{
		{
			name: "openai", path: "/v1/models", headers: []string{"Authorization", "Bearer k"},
			check: func(t *testing.T, body map[string]any) {
				if body["object"] != "list" || path(body, "data", 1, "id") != "m-two" || path(body, "data", 0, "object") != "model" ||
					path(body, "data", 0, "owned_by") == nil || path(body, "data", 0, "created") == nil {
					t.Errorf("body = %v", body)
				}
			},
		},
		{
			name: "openai without v1", path: "/models", headers: []string{"Authorization", "Bearer k"},
			check: func(t *testing.T, body map[string]any) {
				if body["object"] != "list" {
					t.Errorf("body = %v", body)
				}
			},
		},
		{
			name: "anthropic", path: "/v1/models", headers: []string{"X-Api-Key", "k", "Anthropic-Version", "2023-06-01"},
			check: func(t *testing.T, body map[string]any) {
				if path(body, "data", 0, "type") != "model" || path(body, "data", 0, "display_name") != "m-one" ||
					path(body, "data", 0, "created_at") == nil || body["has_more"] != false || body["first_id"] != "m-one" || body["last_id"] != "m-two" {
					t.Errorf("body = %v", body)
				}
			},
		},
		{
			name: "gemini", path: "/v1beta/models", headers: []string{"X-Goog-Api-Key", "k"},
			check: func(t *testing.T, body map[string]any) {
				if path(body, "models", 0, "name") != "models/m-one" || path(body, "models", 1, "name") != "models/m-two" {
					t.Errorf("body = %v", body)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{Models: []string{"m-one", "m-two"}})
			resp := do(t, http.MethodGet, srv.URL+tt.path, "", tt.headers...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			tt.check(t, decodeJSON(t, readAll(t, resp)))
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{})
	for _, p := range []string{"/", "/v1/embeddings", "/v1beta/models/m:embedContent", "/v2/messages"} {
		resp := do(t, http.MethodPost, srv.URL+p, "{}", "Authorization", "Bearer k")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status = %d", p, resp.StatusCode)
		}
		if typ, _ := openAIErrorBody(t, decodeJSON(t, readAll(t, resp))); typ != "invalid_request_error" {
			t.Errorf("%s: type = %q", p, typ)
		}
	}
	if resp := do(t, http.MethodGet, srv.URL+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
}

func TestBadRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		headers []string
	}{
		{name: "unparsable knob", body: chatBody, headers: []string{fakeupstream.HeaderChunks, "many"}},
		{name: "unknown knob", body: chatBody, headers: []string{"X-Fake-Chunk", "2"}},
		{name: "status out of range", body: chatBody, headers: []string{fakeupstream.HeaderStatus, "42"}},
		{name: "invalid JSON body", body: `{"model":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, http.MethodPost, srv.URL+"/v1/chat/completions", tt.body, append([]string{"Authorization", "Bearer k"}, tt.headers...)...)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			openAIErrorBody(t, decodeJSON(t, readAll(t, resp)))
		})
	}
}

func TestEmbeddedError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpointCase
		// wantFirst checks the first event.
		wantEvent string
		wantType  func(map[string]any) any
		want      string
	}{
		{endpointCase: streamEndpoints[0], wantType: func(m map[string]any) any { return path(m, "error", "type") }, want: "server_error"},
		{endpointCase: streamEndpoints[1], wantEvent: "error", wantType: func(m map[string]any) any { return path(m, "error", "type") }, want: "server_error"},
		{endpointCase: streamEndpoints[2], wantEvent: "error", wantType: func(m map[string]any) any { return path(m, "error", "type") }, want: "overloaded_error"},
		{endpointCase: streamEndpoints[3], wantType: func(m map[string]any) any { return path(m, "error", "status") }, want: "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{EmbeddedError: true}})
			resp := do(t, http.MethodPost, srv.URL+tt.path, tt.body, tt.headers...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			events, err := readSSE(t, resp.Body)
			if err != nil || len(events) == 0 {
				t.Fatalf("events %v, err %v", events, err)
			}
			first := events[0]
			if first.Event != tt.wantEvent {
				t.Errorf("first event = %q, want %q", first.Event, tt.wantEvent)
			}
			if got := tt.wantType(decodeJSON(t, []byte(first.Data))); got != tt.want {
				t.Errorf("error type = %v, want %q in %s", got, tt.want, first.Data)
			}
			if tt.name == "openai responses" && (len(events) != 2 || events[1].Event != "response.failed") {
				t.Errorf("want error then response.failed, got %+v", events)
			}
		})
	}
}

func TestEmbeddedErrorViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{EmbeddedError: true, Status: http.StatusTooManyRequests}})

	oc := newOpenAI(t, srv.URL)
	chat := oc.Chat.Completions.NewStreaming(testContext(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	for chat.Next() {
		t.Errorf("openai: unexpected chunk %s", chat.Current().RawJSON())
	}
	if err := chat.Err(); err == nil || !strings.Contains(err.Error(), "rate_limit_exceeded") {
		t.Errorf("openai stream error = %v", err)
	}

	ac := newAnthropic(t, srv.URL)
	msgs := ac.Messages.NewStreaming(testContext(t), messageParams)
	for msgs.Next() {
		t.Errorf("anthropic: unexpected event %s", msgs.Current().RawJSON())
	}
	var apiErr *anthropic.Error
	if err := msgs.Err(); !errors.As(err, &apiErr) || apiErr.Type() != "rate_limit_error" {
		t.Errorf("anthropic stream error = %v", err)
	}

	for _, err := range newGemini(t, srv.URL, "").Models.GenerateContentStream(testContext(t), "m", nil, nil) {
		if err == nil || !strings.Contains(err.Error(), "RESOURCE_EXHAUSTED") {
			t.Errorf("gemini stream error = %v", err)
		}
		break
	}
}

func TestEmbeddedErrorNonStream(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{EmbeddedError: true}})
	resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messagesBody, "X-Api-Key", "k")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if typ, _ := anthropicErrorBody(t, decodeJSON(t, readAll(t, resp))); typ != "overloaded_error" {
		t.Errorf("type = %q", typ)
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
	}{
		{name: "default status", headers: []string{fakeupstream.HeaderHTML, "true"}, wantStatus: fakeupstream.DefaultHTMLStatus},
		{name: "503", headers: []string{fakeupstream.HeaderHTML, "1", fakeupstream.HeaderStatus, "503"}, wantStatus: 503},
		{name: "200 portal page", headers: []string{"x-fake-html", "true", "x-fake-status", "200"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, fakeupstream.Config{})
			resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messageStream, append([]string{"X-Api-Key", "k"}, tt.headers...)...)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("content-type = %q", ct)
			}
			if body := string(readAll(t, resp)); !strings.HasPrefix(body, "<!DOCTYPE html>") {
				t.Errorf("body = %q", body)
			}
		})
	}
}

func TestHang(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-hang": {Hang: true}}})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k-hang")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a timeout", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if fake.CountKey("k-hang") != 1 {
		t.Errorf("hanging request not recorded")
	}
	// Another key on the same server still answers.
	if resp := do(t, http.MethodPost, srv.URL+"/v1/chat/completions", chatBody, "Authorization", "Bearer k"); resp.StatusCode != 200 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

// TestCloseReleasesHang checks that Close drops a hanging request's
// connection instead of answering it.
func TestCloseReleasesHang(t *testing.T) {
	t.Parallel()
	fake, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Hang: true}})
	ctx := testContext(t)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(messagesBody))
		req.Header.Set("X-Api-Key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("got response " + resp.Status)
		}
		errc <- err
	}()
	for fake.Count() == 0 {
		select {
		case err := <-errc:
			t.Fatalf("request ended before hanging: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	fake.Close()
	if err := <-errc; errors.Is(err, context.DeadlineExceeded) || strings.HasPrefix(err.Error(), "got response") {
		t.Errorf("err = %v, want a dropped connection", err)
	}
}

func TestCutAfter(t *testing.T) {
	t.Parallel()
	for _, ep := range streamEndpoints {
		for _, cut := range []int{0, 2} {
			t.Run(ep.name+"/cut "+strconv.Itoa(cut), func(t *testing.T) {
				t.Parallel()
				_, srv := newFake(t, fakeupstream.Config{})
				resp := do(t, http.MethodPost, srv.URL+ep.path, ep.body, slices.Concat(ep.headers, []string{fakeupstream.HeaderCutAfter, strconv.Itoa(cut)})...)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status = %d", resp.StatusCode)
				}
				events, err := readSSE(t, resp.Body)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("stream ended with %v, want unexpected EOF", err)
				}
				if len(events) != cut {
					t.Errorf("got %d events before the cut, want %d", len(events), cut)
				}
			})
		}
	}
}

func TestCutAfterViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{CutAfter: 4}})

	ac := newAnthropic(t, srv.URL)
	msgs := ac.Messages.NewStreaming(testContext(t), messageParams)
	var msg anthropic.Message
	for msgs.Next() {
		_ = msg.Accumulate(msgs.Current())
	}
	if err := msgs.Err(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("anthropic stream error = %v, want unexpected EOF", err)
	}
	if msg.StopReason != "" {
		t.Errorf("cut stream reached stop_reason %q", msg.StopReason)
	}

	// A non-streamed response is cut halfway through its body.
	oc := newOpenAI(t, srv.URL)
	_, err := oc.Chat.Completions.New(testContext(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err == nil {
		t.Error("non-streamed cut response decoded without error")
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		acceptEncoding string
		wantGzip       bool
	}{
		{name: "accepted", acceptEncoding: "gzip", wantGzip: true},
		{name: "not accepted", acceptEncoding: "identity", wantGzip: false},
	}
	for _, tt := range tests {
		for _, ep := range slices.Concat(streamEndpoints, []endpointCase{{name: "openai json", path: "/v1/chat/completions", body: chatBody, headers: []string{"Authorization", "Bearer k"}}}) {
			t.Run(tt.name+"/"+ep.name, func(t *testing.T) {
				t.Parallel()
				_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Gzip: true}})
				// Setting Accept-Encoding turns off the transport's
				// transparent decompression, so the test sees the raw body.
				resp := do(t, http.MethodPost, srv.URL+ep.path, ep.body, slices.Concat(ep.headers, []string{"Accept-Encoding", tt.acceptEncoding})...)
				var body io.Reader = resp.Body
				if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.wantGzip {
					t.Fatalf("gzip = %v, want %v", got, tt.wantGzip)
				}
				if tt.wantGzip {
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = zr
				}
				b, err := io.ReadAll(body)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), `\"fake\"`) {
					t.Errorf("body lacks the text: %q", b)
				}
			})
		}
	}
}

// TestGzipFlushesEachEvent proves a compressed stream is flushed per event:
// with an hour between events, the first event can only arrive if it was
// flushed through the gzip writer.
func TestGzipFlushesEachEvent(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Gzip: true, ChunkInterval: time.Hour}})
	resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messageStream, "X-Api-Key", "k", "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil || line != "event: message_start\n" {
		t.Errorf("first line %q, err %v", line, err)
	}
}

func TestGzipViaSDK(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{Gzip: true}})
	oc := newOpenAI(t, srv.URL)
	stream := oc.Chat.Completions.NewStreaming(testContext(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != fakeupstream.ExpectedText(3) {
		t.Errorf("text = %q", got)
	}
}

func TestDelays(t *testing.T) {
	t.Parallel()
	t.Run("header delay holds back the status line", func(t *testing.T) {
		t.Parallel()
		_, srv := newFake(t, fakeupstream.Config{Knobs: fakeupstream.Knobs{HeaderDelay: time.Hour}})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(messageStream))
		req.Header.Set("X-Api-Key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("got headers despite HeaderDelay")
		}
	})
	t.Run("first event delay comes after the headers", func(t *testing.T) {
		t.Parallel()
		_, srv := newFake(t, fakeupstream.Config{})
		resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messageStream, "X-Api-Key", "k", fakeupstream.HeaderFirstEventDelay, "1h")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
			t.Errorf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("intervals slow a stream down", func(t *testing.T) {
		t.Parallel()
		_, srv := newFake(t, fakeupstream.Config{})
		start := time.Now()
		resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messageStream, "X-Api-Key", "k",
			fakeupstream.HeaderFirstEventDelay, "50ms", fakeupstream.HeaderChunkInterval, "10ms")
		readAll(t, resp)
		// 50ms + 8 intervals of 10ms is a lower bound only.
		if elapsed := time.Since(start); elapsed < 130*time.Millisecond {
			t.Errorf("stream took %v, want at least 130ms", elapsed)
		}
	})
}

// TestErrorBody: ErrorBody is sent verbatim with the injected status, from
// a knob or a header.
func TestErrorBody(t *testing.T) {
	t.Parallel()
	const body = `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low"}}`
	_, srv := newFake(t, fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-broke": {Status: 400, ErrorBody: body}}})
	resp := do(t, http.MethodPost, srv.URL+"/v1/messages", messagesBody, "X-Api-Key", "k-broke")
	if got := readAll(t, resp); resp.StatusCode != 400 || string(got) != body {
		t.Errorf("knob: %d %s", resp.StatusCode, got)
	}
	resp = do(t, http.MethodPost, srv.URL+"/v1/messages", messagesBody, "X-Api-Key", "k", "X-Fake-Status", "402", "X-Fake-Error-Body", "no credit")
	if got := readAll(t, resp); resp.StatusCode != 402 || string(got) != "no credit" {
		t.Errorf("header: %d %s", resp.StatusCode, got)
	}
}
