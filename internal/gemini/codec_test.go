package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"aether/internal/canon"
	"aether/internal/llm"
)

func TestDecodeRequestMappings(t *testing.T) {
	t.Parallel()
	body := `{"model":"gemini-2.5-pro","contents":[{"role":"user","parts":[{"text":"hi"}]}],
		"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"a":{"type":"ARRAY","items":{"type":"INTEGER"}}}}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f","g"]}},
		"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"thinkingBudget":0}}}`
	r, err := Codec{}.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "gemini-2.5-pro" || r.Stream {
		t.Errorf("model %q stream %v", r.Model, r.Stream)
	}
	if got := string(r.Tools[0].Parameters); got != `{"properties":{"a":{"items":{"type":"integer"},"type":"array"}},"type":"object"}` {
		t.Errorf("schema %s", got)
	}
	if r.ToolChoice == nil || r.ToolChoice.Mode != canon.ToolRequired {
		t.Errorf("tool choice %+v", r.ToolChoice)
	}
	if r.ResponseFormat == nil || r.ResponseFormat.Type != canon.FormatJSONObject {
		t.Errorf("response format %+v", r.ResponseFormat)
	}
	if r.Reasoning == nil || !r.Reasoning.Disabled {
		t.Errorf("reasoning %+v", r.Reasoning)
	}
	if _, err := (Codec{}).DecodeRequest([]byte(`{"contents":"x"}`)); err == nil {
		t.Error("bad body decoded")
	} else if ce, ok := err.(*canon.Error); !ok || ce.Status != 400 {
		t.Errorf("err = %#v", err)
	}
}

// TestToolResultIDs: a functionResponse answers its call by id, else the
// oldest unanswered call of its name; calls without an id get stable ids.
func TestToolResultIDs(t *testing.T) {
	t.Parallel()
	body := `{"contents":[
		{"role":"user","parts":[{"text":"go"}]},
		{"role":"model","parts":[{"functionCall":{"name":"a","args":{}}},{"functionCall":{"id":"x1","name":"b"}},{"functionCall":{"name":"a","args":{"n":2}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"a","response":{"output":"one"}}},{"functionResponse":{"id":"x1","name":"b","response":{"error":"bad"}}},{"functionResponse":{"id":"cli-made","name":"a","response":{"v":2}}}]}]}`
	r, err := Codec{}.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	calls, results := r.Messages[1].Content, r.Messages[2].Content
	if calls[0].ID != "call_a_0" || calls[1].ID != "x1" || calls[2].ID != "call_a_2" {
		t.Errorf("call ids %q %q %q", calls[0].ID, calls[1].ID, calls[2].ID)
	}
	for i, want := range []string{calls[0].ID, "x1", calls[2].ID} {
		if results[i].ID != want {
			t.Errorf("result %d answers %q, want %q", i, results[i].ID, want)
		}
	}
	if results[0].Content[0].Text != "one" || !results[1].IsError || results[1].Content[0].Text != "bad" || results[2].Content[0].Text != `{"v":2}` {
		t.Errorf("results %+v", results)
	}
	if string(calls[1].Arguments) != "{}" {
		t.Errorf("arguments %s", calls[1].Arguments)
	}
}

// TestEncodeRequestNamesResults: a tool result is named after its call,
// and a Gemini 3 model gets the placeholder signature on a turn's first
// unsigned call; a Gemini 2 model does not.
func TestEncodeRequestNamesResults(t *testing.T) {
	t.Parallel()
	r := &canon.Request{Messages: []canon.Message{
		{Role: canon.RoleUser, Content: []canon.Block{{Type: canon.BlockText, Text: "go"}}},
		{Role: canon.RoleAssistant, Content: []canon.Block{
			{Type: canon.BlockThinking, Text: "from another model", Signature: "EqQB"},
			{Type: canon.BlockToolCall, ID: "toolu_1", Name: "lookup", Arguments: json.RawMessage(`{"q":1}`)},
			{Type: canon.BlockToolCall, ID: "toolu_2", Name: "lookup", Arguments: json.RawMessage(`"not an object"`)},
		}},
		{Role: canon.RoleUser, Content: []canon.Block{
			{Type: canon.BlockToolResult, ID: "toolu_1", Content: []canon.Block{{Type: canon.BlockText, Text: "plain"}}},
			{Type: canon.BlockToolResult, ID: "toolu_2", IsError: true, Content: []canon.Block{{Type: canon.BlockText, Text: "boom"}, {Type: canon.BlockImage, MediaType: "image/png", Data: "iVBO"}}},
		}},
	}, Stop: []string{"1", "2", "3", "4", "5", "6"}}
	for _, c := range []struct {
		model       string
		placeholder bool
	}{{"gemini-3-pro-preview", true}, {"gemini-2.5-flash", false}, {"models/gemini-2.0-flash", false}, {"my-alias", true}} {
		r.Model = c.model
		b, err := Codec{}.EncodeRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		var out requestJSON
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		model := out.Contents[1].Parts
		if len(model) != 2 {
			t.Fatalf("%s: model parts %s", c.model, b)
		}
		if got := model[0].ThoughtSignature == skipSignature; got != c.placeholder {
			t.Errorf("%s: placeholder %v, want %v", c.model, got, c.placeholder)
		}
		if model[1].ThoughtSignature != "" || string(model[1].FunctionCall.Args) != "{}" {
			t.Errorf("%s: second call %+v", c.model, model[1])
		}
		user := out.Contents[2].Parts
		if len(user) != 3 || user[0].FunctionResponse.Name != "lookup" || string(user[0].FunctionResponse.Response) != `{"output":"plain"}` ||
			string(user[1].FunctionResponse.Response) != `{"error":"boom"}` || user[2].InlineData == nil {
			t.Errorf("%s: user parts %s", c.model, b)
		}
		if len(out.GenerationConfig.StopSequences) != maxStopSequences {
			t.Errorf("stop sequences %v", out.GenerationConfig.StopSequences)
		}
	}
}

// TestSignatures: Gemini's signatures come back to Gemini where Gemini put
// them; another format's signature and redacted thinking pass through a
// Gemini client and come back unchanged.
func TestSignatures(t *testing.T) {
	t.Parallel()
	resp := `{"candidates":[{"content":{"role":"model","parts":[
		{"thought":true,"text":"plan","thoughtSignature":"c2lnMQ=="},
		{"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"c2lnMg=="}]},"finishReason":"STOP"}],"responseId":"r1"}`
	r, err := Codec{}.DecodeResponse([]byte(resp))
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != canon.StopToolUse || len(r.Content) != 3 || r.Content[0].Signature != "gemini:c2lnMQ==" || r.Content[1].Signature != "gemini:c2lnMg==" || r.Content[2].ID != "call_r1_0" {
		t.Fatalf("decoded %+v", r)
	}
	// The client (say Anthropic) sends the answer back as history.
	b, err := Codec{}.EncodeRequest(&canon.Request{Model: "gemini-3-pro", Messages: []canon.Message{{Role: canon.RoleAssistant, Content: r.Content}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"parts":[{"thought":true,"text":"plan","thoughtSignature":"c2lnMQ=="},{"functionCall":{"id":"call_r1_0","name":"f","args":{"a":1}},"thoughtSignature":"c2lnMg=="}]`; !strings.Contains(string(b), want) {
		t.Errorf("request %s\nwant %s", b, want)
	}

	foreign := &canon.Response{Content: []canon.Block{
		{Type: canon.BlockThinking, Text: "hmm", Signature: "EqQBanthropic"},
		{Type: canon.BlockRedactedThinking, Data: "EmwKredacted"},
		{Type: canon.BlockText, Text: "done"},
	}}
	b, err = Codec{}.EncodeResponse(foreign)
	if err != nil {
		t.Fatal(err)
	}
	var out responseJSON
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	history, _ := json.Marshal(requestJSON{Contents: []contentJSON{*out.Candidates[0].Content}})
	back, err := Codec{}.DecodeRequest(history)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Messages[0].Content
	if len(got) != 3 || got[0].Signature != "EqQBanthropic" || got[0].Text != "hmm" || got[1].Type != canon.BlockRedactedThinking || got[1].Data != "EmwKredacted" || got[2].Text != "done" {
		t.Errorf("history %+v", got)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	resp := `{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"MAX_TOKENS"}],
		"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":80,"candidatesTokenCount":30,"thoughtsTokenCount":10,"totalTokenCount":140}}`
	r, err := Codec{}.DecodeResponse([]byte(resp))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{InputTokens: 20, CacheReadTokens: 80, OutputTokens: 40, ReasoningTokens: 10, Known: true}
	if r.Usage != want || r.StopReason != canon.StopMaxTokens {
		t.Errorf("usage %+v stop %s", r.Usage, r.StopReason)
	}
	b, _ := Codec{}.EncodeResponse(r)
	if !strings.Contains(string(b), `"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":30,"totalTokenCount":140,"cachedContentTokenCount":80,"thoughtsTokenCount":10}`) {
		t.Errorf("encoded %s", b)
	}
	back, _ := Codec{}.DecodeResponse(b)
	if back.Usage != want {
		t.Errorf("round trip %+v", back.Usage)
	}
	// Cache writes (Anthropic) have no Gemini bucket: they count as prompt.
	u := encodeUsage(llm.Usage{InputTokens: 5, CacheWrite5mTokens: 7, CacheWrite1hTokens: 3, CacheReadTokens: 2, OutputTokens: 4, ReasoningTokens: 9})
	if u.PromptTokenCount != 17 || u.CachedContentTokenCount != 2 || u.CandidatesTokenCount != 0 || u.ThoughtsTokenCount != 4 || u.TotalTokenCount != 21 {
		t.Errorf("usage out %+v", u)
	}
}

func TestStopReasons(t *testing.T) {
	t.Parallel()
	for finish, want := range map[string]canon.StopReason{"STOP": canon.StopEndTurn, "MAX_TOKENS": canon.StopMaxTokens, "SAFETY": canon.StopContentFilter,
		"RECITATION": canon.StopContentFilter, "MALFORMED_FUNCTION_CALL": canon.StopEndTurn, "": canon.StopEndTurn} {
		if got := stopReason(finish, false); got != want {
			t.Errorf("%s: %s, want %s", finish, got, want)
		}
	}
	r, err := Codec{}.DecodeResponse([]byte(`{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}`))
	if err != nil || r.StopReason != canon.StopContentFilter || r.Usage.InputTokens != 5 {
		t.Errorf("blocked prompt: %+v, %v", r, err)
	}
	if _, err := (Codec{}).DecodeResponse([]byte(`{}`)); err == nil {
		t.Error("empty response decoded")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		body   string
		want   canon.ErrorType
	}{
		{400, `{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}`, canon.ErrInvalidRequest},
		{403, `{"error":{"code":403,"message":"no","status":"PERMISSION_DENIED"}}`, canon.ErrPermission},
		{503, `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`, canon.ErrOverloaded},
		{429, `[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`, canon.ErrRateLimit},
		{0, `{"error":{"code":500,"message":"oops"}}`, canon.ErrAPI},
		{502, `<html>`, canon.ErrAPI},
	}
	for _, c := range cases {
		e := Codec{}.DecodeError(c.status, []byte(c.body))
		if e.Type != c.want || e.Status != c.status || e.Message == "" {
			t.Errorf("%s: %+v", c.body, e)
		}
	}
	b := Codec{}.EncodeError(&canon.Error{Type: canon.ErrRateLimit, Message: "slow down"})
	if string(b) != `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}` {
		t.Errorf("encoded %s", b)
	}
}

func decodeAll(t *testing.T, chunks ...string) (canon.StreamDecoder, []canon.Event) {
	t.Helper()
	d := Codec{}.NewStreamDecoder()
	var all []canon.Event
	for _, c := range chunks {
		evs, err := d.Decode("", []byte(c))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	return d, all
}

func types(evs []canon.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, " ")
}

func TestStreamEnds(t *testing.T) {
	t.Parallel()
	text := `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"responseId":"r"}`
	// No finishReason: truncated, End gives nothing.
	d, evs := decodeAll(t, text)
	if got := types(append(evs, d.End()...)); got != "start block_start delta" {
		t.Errorf("truncated: %s", got)
	}
	// finishReason without usage: the end waits for the close.
	d, evs = decodeAll(t, text, `{"candidates":[{"finishReason":"STOP","index":0}]}`)
	if got := types(evs); got != "start block_start delta block_stop" {
		t.Errorf("finished: %s", got)
	}
	end := d.End()
	if got := types(end); got != "message_delta stop" || end[0].Usage != nil || end[0].StopReason != canon.StopEndTurn {
		t.Errorf("end: %s %+v", got, end)
	}
	// Usage on a chunk after the finish ends the message there.
	_, evs = decodeAll(t, text, `{"candidates":[{"finishReason":"MAX_TOKENS","index":0}]}`, `{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2}}`)
	last := evs[len(evs)-2]
	if last.Type != canon.EventMessageDelta || last.StopReason != canon.StopMaxTokens || last.Usage == nil || last.Usage.OutputTokens != 2 {
		t.Errorf("late usage: %+v", last)
	}
	// An error chunk ends the stream.
	d, evs = decodeAll(t, text, `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`)
	if e := evs[len(evs)-1]; e.Type != canon.EventError || e.Error.Type != canon.ErrOverloaded || d.End() != nil {
		t.Errorf("error: %+v", e)
	}
	// A blocked prompt is an end.
	_, evs = decodeAll(t, `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":4}}`)
	if got := types(evs); got != "start message_delta stop" || evs[1].StopReason != canon.StopContentFilter {
		t.Errorf("blocked: %s", got)
	}
	if _, err := (Codec{}).NewStreamDecoder().Decode("", []byte(`{"candidates":`)); err == nil {
		t.Error("malformed chunk decoded")
	}
}

// TestStreamEncoder: a function call is written once whole, a Gemini
// signature without text rides on the next part, the last chunk has the
// finish reason and usage, and nothing follows an error.
func TestStreamEncoder(t *testing.T) {
	t.Parallel()
	e := Codec{}.NewStreamEncoder(nil)
	evs := []canon.Event{
		{Type: canon.EventStart, ID: "r", Model: "m"},
		{Type: canon.EventBlockStart, Index: 0, Block: &canon.Block{Type: canon.BlockThinking}},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaSignature, Text: "gemini:c2ln"},
		{Type: canon.EventBlockStop, Index: 0},
		{Type: canon.EventBlockStart, Index: 1, Block: &canon.Block{Type: canon.BlockToolCall, ID: "c1", Name: "f"}},
		{Type: canon.EventDelta, Index: 1, Delta: canon.DeltaArguments, Text: `{"a":`},
		{Type: canon.EventDelta, Index: 1, Delta: canon.DeltaArguments, Text: `1}`},
		{Type: canon.EventBlockStop, Index: 1},
		{Type: canon.EventMessageDelta, StopReason: canon.StopToolUse, Usage: &llm.Usage{InputTokens: 3, OutputTokens: 2}},
		{Type: canon.EventStop},
		{Type: canon.EventError},
	}
	var got []string
	for _, ev := range evs {
		for _, s := range e.Encode(ev) {
			got = append(got, string(s.Data))
		}
	}
	want := []string{
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"c1","name":"f","args":{"a":1}},"thoughtSignature":"c2ln"}]},"index":0}],"modelVersion":"m","responseId":"r"}`,
		`{"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"modelVersion":"m","responseId":"r"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRequestPath(t *testing.T) {
	t.Parallel()
	if got := RequestPath("gemini-2.5-flash", true); got != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Error(got)
	}
	if got := RequestPath("gemini-2.5-flash", false); got != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Error(got)
	}
}
