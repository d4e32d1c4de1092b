package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
	"aether/internal/testkit/toolloop"
)

// translateYAML serves each model from one provider of one format, so a
// client of another format is served by translation (issue 12):
// deepseek-chat lives on a Chat-only server (openai-chat), gpt-4o-mini on
// an OpenAI endpoint, claude-sonnet-4-5 on Anthropic, gemini-2.5-flash on
// Gemini.
const translateYAML = `
providers:
  - name: p-openai
    endpoints: [{format: openai, base_url: "${FAKE_URL}/v1"}]
    keys: [{name: only, secret: k-openai}]
  - name: p-deepseek
    endpoints: [{format: openai-chat, base_url: "${FAKE_URL}"}]
    keys: [{name: only, secret: k-deepseek}]
  - name: p-anthropic
    endpoints: [{format: anthropic, base_url: "${FAKE_URL}"}]
    keys: [{name: only, secret: k-anthropic}]
  - name: p-gemini
    endpoints: [{format: gemini, base_url: "${FAKE_URL}"}]
    keys: [{name: only, secret: k-gemini}]
models:
  - {name: gpt-4o-mini, routes: [{provider: p-openai}]}
  - {name: deepseek-chat, routes: [{provider: p-deepseek}]}
  - {name: claude-sonnet-4-5, routes: [{provider: p-anthropic, upstream_model: claude-sonnet-4-5-20250929}]}
  - {name: gemini-2.5-flash, routes: [{provider: p-gemini}]}
users:
  - name: tester
    keys: [{name: tester-key, key: "` + gatewaytest.Key + `"}]
`

// TestTranslatedToolLoops: an official SDK of each client format runs a
// whole tool loop on a model whose only provider speaks another format,
// streaming and not; the tool call and the final text arrive intact, the
// upstream is called in its own API, and each request is recorded with the
// upstream's usage exactly.
func TestTranslatedToolLoops(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	type loop func(ctx context.Context, base, key, model string, stream bool) (toolloop.Result, error)
	tests := []struct {
		name     string
		run      loop
		model    string
		path     string // the upstream path called
		usage    llm.Usage
		upstream string // the candidate's upstream API
	}{
		{"anthropic client, chat upstream", toolloop.Anthropic, "deepseek-chat", "/v1/chat/completions", openAIUsage, "openai-chat"},
		{"responses client, chat upstream", toolloop.Responses, "deepseek-chat", "/v1/chat/completions", openAIUsage, "openai-chat"},
		{"responses client, anthropic upstream", toolloop.Responses, "claude-sonnet-4-5", "/v1/messages", anthropicUsage, "anthropic-messages"},
		{"chat client, anthropic upstream", toolloop.Chat, "claude-sonnet-4-5", "/v1/messages", anthropicUsage, "anthropic-messages"},
		{"gemini client, openai upstream", toolloop.Gemini, "gpt-4o-mini", "/v1/chat/completions", openAIUsage, "openai-chat"},
		{"anthropic client, gemini upstream", toolloop.Anthropic, "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:", geminiUsage, "gemini"},
		{"chat client, gemini upstream", toolloop.Chat, "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:", geminiUsage, "gemini"},
		{"responses client, gemini upstream", toolloop.Responses, "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:", geminiUsage, "gemini"},
		{"gemini client, anthropic upstream", toolloop.Gemini, "claude-sonnet-4-5", "/v1/messages", anthropicUsage, "anthropic-messages"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				res, err := tt.run(ctxT(t), g.URL, gatewaytest.Key, tt.model, stream)
				if err != nil {
					t.Fatal(err)
				}
				if res.Name != toolloop.Tool || !toolloop.SameJSON(res.Arguments, fakeupstream.ToolArguments) {
					t.Errorf("tool call %s(%s), want %s(%s)", res.Name, res.Arguments, toolloop.Tool, fakeupstream.ToolArguments)
				}
				if res.Text != want {
					t.Errorf("final text %q, want %q", res.Text, want)
				}
				for _, id := range res.RequestIDs {
					rec := g.Finished(t, id)
					checkRecord(t, g, id, tt.usage, stream)
					if c := rec.Plan[0]; c.UpstreamAPI != tt.upstream {
						t.Errorf("candidate upstream API %q, want %q", c.UpstreamAPI, tt.upstream)
					}
				}
			})
		}
	}
	seen := map[string]bool{}
	for _, r := range g.Fake.Requests() {
		seen[r.Path] = true
		if strings.HasPrefix(r.Path, "/v1/messages") && r.Header.Get("Anthropic-Version") == "" {
			t.Errorf("request to Anthropic without anthropic-version: %s %s", r.Path, r.Header)
		}
	}
	for _, tt := range tests {
		found := false
		for p := range seen {
			found = found || strings.HasPrefix(p, tt.path)
		}
		if !found {
			t.Errorf("no upstream request on %s (seen %v)", tt.path, seen)
		}
	}
}

// TestTranslatedStreamEnds: a translated stream keeps the stream-end rules
// of passthrough: an upstream error event is upstream_stream_error (the
// client gets it in its own shape), a stream closed without its terminal
// event is stream_truncated and the client connection is aborted.
func TestTranslatedStreamEnds(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	body := `{"model":"deepseek-chat","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	h := map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}

	h[fakeupstream.HeaderStreamErrorAfter] = "2"
	resp := g.Post(t, "/v1/messages", body, h)
	got, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(got), "event: error") {
		t.Fatalf("stream error: %v\n%s", err, got)
	}
	rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
	if rec.Outcome.ErrorClass != llm.ErrUpstreamStreamError {
		t.Errorf("class %s, want upstream_stream_error", rec.Outcome.ErrorClass)
	}

	delete(h, fakeupstream.HeaderStreamErrorAfter)
	h[fakeupstream.HeaderEndAfter] = "3"
	resp = g.Post(t, "/v1/messages", body, h)
	got, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("truncated stream read without an error:\n%s", got)
	}
	if strings.Contains(string(got), "message_stop") {
		t.Errorf("truncated stream got message_stop:\n%s", got)
	}
	rec = g.Finished(t, resp.Header.Get("X-Request-ID"))
	if rec.Outcome.ErrorClass != llm.ErrStreamTruncated || rec.Outcome.StatusCode != 502 {
		t.Errorf("outcome %s %d, want stream_truncated 502", rec.Outcome.ErrorClass, rec.Outcome.StatusCode)
	}
}

// TestTranslatedErrors: an upstream's client error keeps its status and
// reaches the client in the client's shape; a body the translation cannot
// express is a 400 in the client's shape without an upstream call.
func TestTranslatedErrors(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	h := map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01", fakeupstream.HeaderStatus: "400"}
	resp := g.Post(t, "/v1/messages", `{"model":"deepseek-chat","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, h)
	var aerr struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&aerr); err != nil || resp.StatusCode != 400 || aerr.Type != "error" || aerr.Error.Type != "invalid_request_error" {
		t.Errorf("status %d, body %+v (%v)", resp.StatusCode, aerr, err)
	}

	n := len(g.Fake.Requests())
	resp = g.Post(t, "/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi","previous_response_id":"resp_1"}`, gatewaytest.Bearer())
	var oerr struct {
		Error struct{ Type, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&oerr); err != nil || resp.StatusCode != 400 || oerr.Error.Message == "" {
		t.Errorf("status %d, body %+v (%v)", resp.StatusCode, oerr, err)
	}
	if len(g.Fake.Requests()) != n {
		t.Error("an untranslatable request reached the upstream")
	}
}

// TestTranslatedCountTokens: count_tokens and countTokens use the
// upstream's own count endpoint when it has one, and estimate on a Chat
// upstream without calling it.
func TestTranslatedCountTokens(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	ah := map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"}
	gh := map[string]string{"x-goog-api-key": gatewaytest.Key}
	msgs := `"messages":[{"role":"user","content":"hello there"}]`
	tests := []struct {
		name, path, body string
		header           map[string]string
		want             string // the answer
		upstream         string // the upstream path, "" for none
	}{
		{"anthropic on gemini", "/v1/messages/count_tokens", `{"model":"gemini-2.5-flash",` + msgs + `}`, ah, `{"input_tokens":35}`, "/v1beta/models/gemini-2.5-flash:countTokens"},
		{"gemini on anthropic", "/v1beta/models/claude-sonnet-4-5:countTokens", `{"contents":[{"parts":[{"text":"hello"}]}]}`, gh, `{"totalTokens":35}`, "/v1/messages/count_tokens"},
		{"anthropic on chat: estimated", "/v1/messages/count_tokens", `{"model":"deepseek-chat",` + msgs + `}`, ah, `{"input_tokens":20}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(g.Fake.Requests())
			resp := g.Post(t, tt.path, tt.body, tt.header)
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(got) != tt.want {
				t.Fatalf("%d %s, want %s", resp.StatusCode, got, tt.want)
			}
			reqs := g.Fake.Requests()[n:]
			switch {
			case tt.upstream == "" && len(reqs) != 0:
				t.Errorf("estimate called the upstream: %s", reqs[0].Path)
			case tt.upstream != "" && (len(reqs) != 1 || reqs[0].Path != tt.upstream):
				t.Errorf("upstream requests %+v, want one on %s", reqs, tt.upstream)
			case tt.upstream == "/v1/messages/count_tokens" && strings.Contains(string(reqs[0].Body), "max_tokens"):
				t.Errorf("count_tokens body has max_tokens: %s", reqs[0].Body)
			}
		})
	}
}

// TestTranslatedWebSocket: Codex's Responses WebSocket reaches a model
// that lives on Anthropic only; the socket gets Responses events and the
// request is recorded with Anthropic's usage.
func TestTranslatedWebSocket(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	evs := wsTurn(t, conn, `{"type":"response.create","model":"claude-sonnet-4-5","input":"hi","store":false,"stream":true}`)
	text := ""
	for _, ev := range evs {
		if ev.Type == "response.output_text.delta" {
			text += ev.Delta
		}
	}
	if l := last(evs); l.Type != "response.completed" || text != want || l.Response.Usage == nil || l.Response.Usage.InputTokens != 35 {
		t.Fatalf("last event %+v, text %q", l, text)
	}
	if r := g.Fake.Requests(); r[len(r)-1].Path != "/v1/messages" {
		t.Errorf("upstream path %s", r[len(r)-1].Path)
	}
	ids := g.Recorder.IDs()
	checkRecord(t, g, ids[len(ids)-1], anthropicUsage, true)
}

// TestPassthroughBesideTranslation: a provider with an endpoint of the
// client's format serves it byte for byte even when it has endpoints of
// other formats too; only clients of a format it lacks are translated.
func TestPassthroughBesideTranslation(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(translateYAML, `endpoints: [{format: anthropic, base_url: "${FAKE_URL}"}]`,
		`endpoints: [{format: anthropic, base_url: "${FAKE_URL}"}, {format: openai, base_url: "${FAKE_URL}/v1"}]`, 1)
	g := gatewaytest.New(t, gatewaytest.Options{YAML: yaml})
	body := `{"model":"claude-sonnet-4-5",  "messages":[{"role":"user","content":"hi"}], "x_unknown":{"kept":[1,2]}}`
	resp := g.Post(t, "/v1/chat/completions", body, gatewaytest.Bearer())
	got, _ := io.ReadAll(resp.Body)
	r := g.Fake.Requests()
	up := r[len(r)-1]
	wantBody := strings.Replace(body, `"claude-sonnet-4-5"`, `"claude-sonnet-4-5-20250929"`, 1)
	if up.Path != "/v1/chat/completions" || string(up.Body) != wantBody {
		t.Errorf("upstream %s got %s, want %s", up.Path, up.Body, wantBody)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"system_fingerprint":null`) || !strings.HasPrefix(string(got), `{"id":"chatcmpl-fake`) {
		t.Errorf("client got %s, want the upstream's own bytes", got)
	}
	rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
	if rec.Plan[0].UpstreamAPI != "" {
		t.Errorf("passthrough candidate has upstream API %q", rec.Plan[0].UpstreamAPI)
	}
	// The Anthropic client still passes through to the anthropic endpoint.
	resp = g.Post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
	_, _ = io.ReadAll(resp.Body)
	if r := g.Fake.Requests(); r[len(r)-1].Path != "/v1/messages" {
		t.Errorf("anthropic client went to %s", r[len(r)-1].Path)
	}
}

// TestTranslatedGeminiArrayStream: a Gemini stream without alt=sse is one
// JSON array, translated element by element.
func TestTranslatedGeminiArrayStream(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	resp := g.Post(t, "/v1beta/models/claude-sonnet-4-5:streamGenerateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
		map[string]string{"x-goog-api-key": gatewaytest.Key})
	var chunks []struct {
		Candidates []struct {
			Content struct{ Parts []struct{ Text string } }
		}
		UsageMetadata *struct{ PromptTokenCount int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&chunks); err != nil {
		t.Fatalf("not one JSON array: %v", err)
	}
	text := ""
	for _, c := range chunks {
		for _, cand := range c.Candidates {
			for _, p := range cand.Content.Parts {
				text += p.Text
			}
		}
	}
	if text != want || chunks[len(chunks)-1].UsageMetadata == nil || chunks[len(chunks)-1].UsageMetadata.PromptTokenCount != 35 {
		t.Errorf("text %q, chunks %+v", text, chunks)
	}
	checkRecord(t, g, resp.Header.Get("X-Request-ID"), anthropicUsage, true)
}

// TestMixedPlanFailover: one plan mixes a translated candidate and a
// passthrough one; when the first fails before the commit point the next
// answers, as between candidates of one format.
func TestMixedPlanFailover(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(translateYAML, "  - {name: gpt-4o-mini, routes: [{provider: p-openai}]}",
		"  - {name: gpt-4o-mini, routes: [{provider: p-openai}]}\n  - {name: mixed, routes: [{provider: p-deepseek}, {provider: p-anthropic}]}", 1)
	yaml = strings.Replace(yaml, "  - name: p-deepseek\n", "  - name: p-deepseek\n    priority: 1\n", 1)
	g := gatewaytest.New(t, gatewaytest.Options{YAML: yaml, Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-deepseek": {Status: 503}}},
		Config: func(c *config.Config) { c.AffinityTTL = 0 }}) // each request starts with the translated candidate
	for _, stream := range []string{"false", "true"} {
		resp := g.Post(t, "/v1/messages", `{"model":"mixed","max_tokens":50,"stream":`+stream+`,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"x-api-key": gatewaytest.Key, "anthropic-version": "2023-06-01"})
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(got), "msg_fake") {
			t.Fatalf("stream %s: %d %s", stream, resp.StatusCode, got)
		}
		rec := g.Finished(t, resp.Header.Get("X-Request-ID"))
		out := rec.Outcome
		if len(out.Attempts) != 2 || out.Attempts[0].StatusCode != 503 || out.Usage != anthropicUsage {
			t.Errorf("stream %s: attempts %+v usage %+v", stream, out.Attempts, out.Usage)
		}
		if rec.Plan[0].UpstreamAPI != "openai-chat" || rec.Plan[1].UpstreamAPI != "" {
			t.Errorf("plan %+v", rec.Plan)
		}
	}
}

// TestTranslatedWebSocketToolLoop: Codex sends the turn after a tool call
// with previous_response_id and only the tool's output; on a translated
// model the gateway sends the upstream the whole conversation, which it
// kept for the socket.
func TestTranslatedWebSocketToolLoop(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{YAML: translateYAML})
	h := http.Header{}
	h.Set("Authorization", "Bearer "+gatewaytest.Key)
	h.Set(fakeupstream.HeaderToolCall, toolloop.Tool)
	conn, _, err := websocket.Dial(ctxT(t), strings.Replace(g.URL, "http", "ws", 1)+"/v1/responses", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	type event struct {
		Type     string
		Delta    string
		Response struct {
			ID     string
			Output []struct{ Type, CallID, Name, Arguments string }
		}
	}
	turn := func(msg string) (done event, text string) {
		t.Helper()
		if err := conn.Write(ctxT(t), websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for {
			_, data, err := conn.Read(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			var ev event
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "response.completed", "response.failed", "error":
				return ev, text
			}
		}
	}
	tools := `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	// Codex's warmup first; its response id comes back as the next
	// request's previous_response_id.
	done, _ := turn(`{"type":"response.create","model":"claude-sonnet-4-5","generate":false,"instructions":"be brief","input":[]}`)
	done, _ = turn(`{"type":"response.create","model":"claude-sonnet-4-5","store":false,"stream":true,` + tools +
		`,"previous_response_id":"` + done.Response.ID + `","input":[{"role":"user","content":"weather?"}]}`)
	if done.Type != "response.completed" || len(done.Response.Output) != 1 || done.Response.Output[0].Type != "function_call" {
		t.Fatalf("first turn: %+v", done)
	}
	call := done.Response.Output[0]
	if call.Name != toolloop.Tool || !toolloop.SameJSON(call.Arguments, fakeupstream.ToolArguments) {
		t.Errorf("call %+v", call)
	}
	done, text := turn(`{"type":"response.create","model":"claude-sonnet-4-5","store":false,"stream":true,` + tools +
		`,"previous_response_id":"` + done.Response.ID + `","input":[{"type":"function_call_output","call_id":"` + call.CallID + `","output":"sunny"}]}`)
	if done.Type != "response.completed" || text != want {
		t.Fatalf("second turn: %+v, text %q", done, text)
	}
	reqs := g.Fake.Requests()
	var up struct {
		Messages []struct {
			Role    string
			Content json.RawMessage
		}
	}
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &up); err != nil || len(up.Messages) != 3 || up.Messages[0].Role != "user" ||
		!strings.Contains(string(up.Messages[1].Content), `"tool_use"`) || !strings.Contains(string(up.Messages[2].Content), `"tool_result"`) {
		t.Errorf("upstream got %s (%v)", reqs[len(reqs)-1].Body, err)
	}
	// A previous_response_id the socket does not hold is refused in
	// Responses' shape; the socket stays usable.
	done, _ = turn(`{"type":"response.create","model":"claude-sonnet-4-5","stream":true,"previous_response_id":"resp_elsewhere","input":"hi"}`)
	if done.Type != "error" {
		t.Errorf("unknown previous_response_id: %+v", done)
	}
}
