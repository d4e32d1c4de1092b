package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"aether/internal/canon"
	"aether/internal/llm"
)

// answerEvents is a canonical answer with every block kind: signed
// thinking, text, two tool calls whose argument deltas interleave, then
// the stop reason and usage (cache writes included).
func answerEvents(stop canon.StopReason) []canon.Event {
	usage := llm.Usage{InputTokens: 20, CacheReadTokens: 80, CacheWrite5mTokens: 10, OutputTokens: 95, ReasoningTokens: 30, Known: true}
	return []canon.Event{
		{Type: canon.EventStart, ID: "msg_01ABC", Model: "claude-sonnet-4-5"},
		{Type: canon.EventBlockStart, Index: 0, Block: &canon.Block{Type: canon.BlockThinking}},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaThinking, Text: "Two cities, "},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaThinking, Text: "two calls."},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaSignature, Text: "EqQBsig"},
		{Type: canon.EventBlockStop, Index: 0},
		{Type: canon.EventBlockStart, Index: 1, Block: &canon.Block{Type: canon.BlockText}},
		{Type: canon.EventDelta, Index: 1, Delta: canon.DeltaText, Text: "Checking "},
		{Type: canon.EventDelta, Index: 1, Delta: canon.DeltaText, Text: "both."},
		{Type: canon.EventBlockStop, Index: 1},
		{Type: canon.EventBlockStart, Index: 2, Block: &canon.Block{Type: canon.BlockToolCall, ID: "call_1", Name: "get_weather"}},
		{Type: canon.EventBlockStart, Index: 3, Block: &canon.Block{Type: canon.BlockToolCall, ID: "call_2", Name: "get_weather"}},
		{Type: canon.EventDelta, Index: 2, Delta: canon.DeltaArguments, Text: `{"location":`},
		{Type: canon.EventDelta, Index: 3, Delta: canon.DeltaArguments, Text: `{"location":"Paris"}`},
		{Type: canon.EventDelta, Index: 2, Delta: canon.DeltaArguments, Text: `"Boston"}`},
		{Type: canon.EventBlockStop, Index: 3},
		{Type: canon.EventBlockStop, Index: 2},
		{Type: canon.EventMessageDelta, StopReason: stop, Usage: &usage},
		{Type: canon.EventStop},
	}
}

func encodeAll(evs []canon.Event) []canon.SSE {
	enc := ResponsesCodec{}.NewStreamEncoder(&canon.Request{Stream: true})
	var out []canon.SSE
	for _, ev := range evs {
		out = append(out, enc.Encode(ev)...)
	}
	return out
}

func sseText(evs []canon.SSE) []byte {
	var b bytes.Buffer
	for _, ev := range evs {
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", ev.Name, ev.Data)
	}
	return b.Bytes()
}

// serve answers every request with body, as SSE or JSON.
func serve(t *testing.T, contentType string, body []byte) oai.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return oai.NewClient(option.WithAPIKey("k"), option.WithBaseURL(srv.URL+"/v1/"), option.WithMaxRetries(0))
}

// TestResponsesStreamEncoderSDK: the official SDK reads the translated
// stream event by event, and the gateway's own observer counts it whole,
// with the usage in its buckets.
func TestResponsesStreamEncoderSDK(t *testing.T) {
	t.Parallel()
	evs := encodeAll(answerEvents(canon.StopToolUse))
	obs := Dialect{}.NewStream(false)
	for _, ev := range evs {
		var typ struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(ev.Data, &typ); err != nil || typ.Type != ev.Name {
			t.Fatalf("event %q: type %q, %v", ev.Name, typ.Type, err)
		}
		obs.Observe(ev.Name, ev.Data)
	}
	wantUsage := llm.Usage{InputTokens: 30, CacheReadTokens: 80, OutputTokens: 95, ReasoningTokens: 30, Known: true}
	if !obs.Complete() || obs.Failed() || obs.Usage() != wantUsage {
		t.Errorf("observer: complete %v, failed %v, usage %+v, want %+v", obs.Complete(), obs.Failed(), obs.Usage(), wantUsage)
	}

	client := serve(t, "text/event-stream", sseText(evs))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-5"})
	var (
		n                int64
		text, summary    string
		args             = map[string]string{}
		completed        *responses.Response
		addedIDs, doneID []string
	)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != n || !ev.JSON.SequenceNumber.Valid() {
			t.Errorf("event %q sequence_number %d, want %d", ev.Type, ev.SequenceNumber, n)
		}
		n++
		switch e := ev.AsAny().(type) {
		case responses.ResponseOutputItemAddedEvent:
			addedIDs = append(addedIDs, e.Item.ID)
		case responses.ResponseOutputItemDoneEvent:
			doneID = append(doneID, e.Item.ID)
		case responses.ResponseTextDeltaEvent:
			text += e.Delta
		case responses.ResponseReasoningSummaryTextDeltaEvent:
			summary += e.Delta
		case responses.ResponseFunctionCallArgumentsDeltaEvent:
			args[e.ItemID] += e.Delta
		case responses.ResponseCompletedEvent:
			completed = &e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "Checking both." || summary != "Two cities, two calls." || len(addedIDs) != 4 || len(doneID) != 4 {
		t.Errorf("text %q, summary %q, items added %v, done %v", text, summary, addedIDs, doneID)
	}
	if completed == nil {
		t.Fatal("no response.completed")
	}
	if completed.Status != "completed" || completed.OutputText() != "Checking both." || len(completed.Output) != 4 {
		t.Errorf("completed: status %q, text %q, %d items", completed.Status, completed.OutputText(), len(completed.Output))
	}
	u := completed.Usage
	if u.InputTokens != 110 || u.InputTokensDetails.CachedTokens != 80 || u.OutputTokens != 95 || u.OutputTokensDetails.ReasoningTokens != 30 || u.TotalTokens != 205 {
		t.Errorf("usage %+v", u)
	}
	for i, want := range []string{`{"location":"Boston"}`, `{"location":"Paris"}`} {
		it := completed.Output[2+i]
		if it.Type != "function_call" || it.Arguments.OfString != want || args[it.ID] != want {
			t.Errorf("call %d: %s (deltas %q)", i, it.RawJSON(), args[it.ID])
		}
	}
	if r := completed.Output[0]; r.Type != "reasoning" || r.EncryptedContent != SignaturePrefix+"EqQBsig" {
		t.Errorf("reasoning item %s", r.RawJSON())
	}
}

// TestResponsesIncompleteAndError: max tokens ends with
// response.incomplete, still a whole stream; an error ends with an error
// event and response.failed, which the SDK and the observer take as a
// failure.
func TestResponsesIncompleteAndError(t *testing.T) {
	t.Parallel()
	evs := encodeAll(answerEvents(canon.StopMaxTokens))
	last := evs[len(evs)-1]
	if last.Name != "response.incomplete" || !bytes.Contains(last.Data, []byte(`"incomplete_details":{"reason":"max_output_tokens"}`)) {
		t.Errorf("last event %s %s", last.Name, last.Data)
	}
	obs := Dialect{}.NewStream(false)
	for _, ev := range evs {
		obs.Observe(ev.Name, ev.Data)
	}
	if !obs.Complete() || obs.Failed() {
		t.Errorf("incomplete: complete %v, failed %v", obs.Complete(), obs.Failed())
	}

	enc := ResponsesCodec{}.NewStreamEncoder(nil)
	evs = enc.Encode(canon.Event{Type: canon.EventStart, ID: "x"})
	evs = append(evs, enc.Encode(canon.Event{Type: canon.EventError, Error: &canon.Error{Type: canon.ErrOverloaded, Message: "Overloaded"}})...)
	if extra := enc.Encode(canon.Event{Type: canon.EventStop}); extra != nil {
		t.Errorf("events after the error: %v", extra)
	}
	obs = Dialect{}.NewStream(false)
	for _, ev := range evs {
		obs.Observe(ev.Name, ev.Data)
	}
	if !obs.Failed() {
		t.Error("error stream not failed")
	}
	dec := ResponsesCodec{}.NewStreamDecoder()
	var got []canon.Event
	for _, ev := range evs {
		out, err := dec.Decode(ev.Name, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
	}
	if e := got[len(got)-1]; e.Type != canon.EventError || e.Error.Message != "Overloaded" || e.Error.Code != "service_unavailable" {
		t.Errorf("decoded %+v", got)
	}
	client := serve(t, "text/event-stream", sseText(evs))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-5"})
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "Overloaded") {
		t.Errorf("SDK error = %v", err)
	}
}

// TestResponsesStreamRoundTrip: the decoder reads back what the encoder
// wrote, block for block, signature included.
func TestResponsesStreamRoundTrip(t *testing.T) {
	t.Parallel()
	dec := ResponsesCodec{}.NewStreamDecoder()
	var got []canon.Event
	for _, ev := range encodeAll(answerEvents(canon.StopToolUse)) {
		out, err := dec.Decode(ev.Name, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
	}
	if dec.End() != nil {
		t.Error("End after the terminal event gave events")
	}
	blocks := map[int]*canon.Block{}
	var stop canon.Event
	for _, ev := range got {
		switch ev.Type {
		case canon.EventBlockStart:
			b := *ev.Block
			blocks[ev.Index] = &b
		case canon.EventDelta:
			b := blocks[ev.Index]
			switch ev.Delta {
			case canon.DeltaText, canon.DeltaThinking:
				b.Text += ev.Text
			case canon.DeltaSignature:
				b.Signature += ev.Text
			case canon.DeltaArguments:
				b.Arguments = append(b.Arguments, ev.Text...)
			}
		case canon.EventMessageDelta:
			stop = ev
		}
	}
	want := map[int]*canon.Block{
		0: {Type: canon.BlockThinking, Text: "Two cities, two calls.", Signature: "EqQBsig"},
		1: {Type: canon.BlockText, Text: "Checking both."},
		2: {Type: canon.BlockToolCall, ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Boston"}`)},
		3: {Type: canon.BlockToolCall, ID: "call_2", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris"}`)},
	}
	if !reflect.DeepEqual(blocks, want) {
		for i := range want {
			t.Errorf("block %d = %+v, want %+v", i, blocks[i], want[i])
		}
	}
	// Cache writes have no bucket in Responses: they come back as input.
	if stop.StopReason != canon.StopToolUse || stop.Usage == nil || *stop.Usage != (llm.Usage{InputTokens: 30, CacheReadTokens: 80, OutputTokens: 95, ReasoningTokens: 30, Known: true}) {
		t.Errorf("message delta %+v %+v", stop, stop.Usage)
	}
}

// TestResponsesNonStreamSDK: the SDK reads an encoded response object.
func TestResponsesNonStreamSDK(t *testing.T) {
	t.Parallel()
	body, err := ResponsesCodec{}.EncodeResponse(&canon.Response{ID: "msg_1", Model: "claude", StopReason: canon.StopEndTurn,
		Content: []canon.Block{{Type: canon.BlockThinking, Text: "hm", Signature: "sig"}, {Type: canon.BlockRedactedThinking, Data: "opaque"}, {Type: canon.BlockText, Text: "Hello"}},
		Usage:   llm.Usage{InputTokens: 5, CacheReadTokens: 3, OutputTokens: 7, Known: true}})
	if err != nil {
		t.Fatal(err)
	}
	client := serve(t, "application/json", body)
	resp, err := client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-5"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "Hello" || resp.Status != "completed" || resp.Usage.InputTokens != 8 || resp.Usage.TotalTokens != 15 || len(resp.Output) != 3 {
		t.Errorf("response %s", resp.RawJSON())
	}
	back, err := ResponsesCodec{}.DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []canon.Block{{Type: canon.BlockThinking, Text: "hm", Signature: "sig"}, {Type: canon.BlockRedactedThinking, Data: "opaque"}, {Type: canon.BlockText, Text: "Hello"}}
	if !reflect.DeepEqual(back.Content, want) || back.StopReason != canon.StopEndTurn {
		t.Errorf("decoded %+v", back)
	}
}

func TestResponsesDecodeRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       *canon.Request
		status     int
	}{
		{"string input", `{"model":"m","input":"hi","instructions":"be brief"}`,
			&canon.Request{Model: "m", System: []canon.Block{{Type: canon.BlockText, Text: "be brief"}}, Messages: []canon.Message{{Role: canon.RoleUser, Content: []canon.Block{{Type: canon.BlockText, Text: "hi"}}}}}, 0},
		{"openai's encrypted reasoning keeps its item id", `{"input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}],"encrypted_content":"gAAA"}]}`,
			&canon.Request{Messages: []canon.Message{{Role: canon.RoleAssistant, Content: []canon.Block{{Type: canon.BlockThinking, Text: "a\n\nb", Signature: "openai:rs_1:gAAA"}}}}}, 0},
		{"redacted thinking comes back", `{"input":[{"type":"reasoning","summary":[],"encrypted_content":"aether.redacted:xyz"}]}`,
			&canon.Request{Messages: []canon.Message{{Role: canon.RoleAssistant, Content: []canon.Block{{Type: canon.BlockRedactedThinking, Data: "xyz"}}}}}, 0},
		{"reasoning none, json mode, named tool, built-in tools dropped", `{"reasoning":{"effort":"none"},"text":{"format":{"type":"json_object"}},"tool_choice":{"type":"function","name":"f"},"tools":[{"type":"local_shell"},{"type":"function","name":"f","parameters":{"type":"object"}}]}`,
			&canon.Request{Reasoning: &canon.Reasoning{Disabled: true}, ResponseFormat: &canon.ResponseFormat{Type: canon.FormatJSONObject},
				ToolChoice: &canon.ToolChoice{Mode: canon.ToolNamed, Name: "f"}, Tools: []canon.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}}, 0},
		{"previous_response_id is refused", `{"previous_response_id":"resp_1","input":"hi"}`, nil, 400},
		{"unknown role", `{"input":[{"type":"message","role":"tool","content":"x"}]}`, nil, 400},
		{"not JSON", `{"input":`, nil, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResponsesCodec{}.DecodeRequest([]byte(c.body))
			if c.status != 0 {
				var ce *canon.Error
				if !errors.As(err, &ce) || ce.Status != c.status {
					t.Fatalf("err = %v, want status %d", err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestResponsesEncodeRequestThinking: a Responses upstream accepts a
// reasoning item only with its own ID and encrypted content, so only
// OpenAI's reasoning goes back, and encrypted content is asked for.
func TestResponsesEncodeRequestThinking(t *testing.T) {
	t.Parallel()
	body, err := ResponsesCodec{}.EncodeRequest(&canon.Request{Model: "gpt-5", Stop: []string{"END"}, Reasoning: &canon.Reasoning{BudgetTokens: 8000}, Messages: []canon.Message{
		{Role: canon.RoleUser, Content: []canon.Block{{Type: canon.BlockText, Text: "hi"}}},
		{Role: canon.RoleAssistant, Content: []canon.Block{{Type: canon.BlockThinking, Text: "t", Signature: "s"}, {Type: canon.BlockText, Text: "ok"}}},
		{Role: canon.RoleUser, Content: []canon.Block{{Type: canon.BlockText, Text: "more"}}},
		{Role: canon.RoleAssistant, Content: []canon.Block{{Type: canon.BlockThinking, Text: "u", Signature: "openai:rs_9:gAAA"}, {Type: canon.BlockText, Text: "sure"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-5","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},` +
		`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]},` +
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"more"}]},` +
		`{"type":"reasoning","id":"rs_9","summary":[{"type":"summary_text","text":"u"}],"encrypted_content":"gAAA"},` +
		`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"sure"}]}],` +
		`"reasoning":{"effort":"medium","summary":"auto"},"store":false,"include":["reasoning.encrypted_content"]}`
	if string(body) != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

func TestResponsesStopReasons(t *testing.T) {
	t.Parallel()
	for stop, want := range map[canon.StopReason][2]string{
		canon.StopEndTurn: {"completed", ""}, canon.StopToolUse: {"completed", ""}, canon.StopSequence: {"completed", ""},
		canon.StopMaxTokens: {"incomplete", "max_output_tokens"}, canon.StopContentFilter: {"incomplete", "content_filter"},
	} {
		status, reason := responsesStatus(stop)
		if status != want[0] || reason != want[1] {
			t.Errorf("%s: %s %s", stop, status, reason)
		}
		if back := stopFromResponses(status, reason, stop == canon.StopToolUse); back != stop && stop != canon.StopSequence {
			t.Errorf("%s comes back as %s", stop, back)
		}
	}
}

// FuzzResponsesCodec: decoding a request, response or error never panics,
// and what decodes re-encodes as JSON.
func FuzzResponsesCodec(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":[{"type":"reasoning","summary":[{"type":"summary_text","text":"a"}],"encrypted_content":"aether.signature:s"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"data:image/png;base64,AA=="}]}]}`))
	f.Add([]byte(`{"object":"response","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[{"type":"message","content":[{"type":"refusal","refusal":"no"}]}],"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":9}}}`))
	f.Add([]byte(`{"type":"error","code":"rate_limit_exceeded","message":"slow down"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := ResponsesCodec{}
		if r, err := c.DecodeRequest(body); err == nil {
			if out, err := c.EncodeRequest(r); err != nil || !json.Valid(out) {
				t.Fatalf("request: %v %s", err, out)
			}
		}
		if r, err := c.DecodeResponse(body); err == nil {
			if out, err := c.EncodeResponse(r); err != nil || !json.Valid(out) {
				t.Fatalf("response: %v %s", err, out)
			}
		}
		if out := c.EncodeError(c.DecodeError(0, body)); !json.Valid(out) {
			t.Fatalf("error: %s", out)
		}
	})
}

// FuzzResponsesStream: the stream decoder never panics on any event, and
// the encoder writes only JSON events, whatever it is given.
func FuzzResponsesStream(f *testing.F) {
	for _, ev := range encodeAll(answerEvents(canon.StopToolUse)) {
		f.Add(ev.Name, ev.Data)
	}
	f.Add("response.output_text.delta", []byte(`{"output_index":-1,"content_index":99,"delta":"x"}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		dec := ResponsesCodec{}.NewStreamDecoder()
		enc := ResponsesCodec{}.NewStreamEncoder(nil)
		// The event twice: once alone, once after a whole answer's events
		// have opened blocks.
		var evs []canon.Event
		for _, pre := range encodeAll(answerEvents(canon.StopEndTurn))[:12] {
			out, _ := dec.Decode(pre.Name, pre.Data)
			evs = append(evs, out...)
		}
		for range 2 {
			out, err := dec.Decode(name, data)
			if err == nil {
				evs = append(evs, out...)
			}
		}
		evs = append(evs, dec.End()...)
		evs = append(evs, canon.Event{Type: canon.EventStop})
		for _, ev := range evs {
			for _, sse := range enc.Encode(ev) {
				if !json.Valid(sse.Data) {
					t.Fatalf("event %q is not JSON: %s", sse.Name, sse.Data)
				}
			}
		}
	})
}

// TestResponsesDecoderWithoutAddedEvents: a server that sends deltas
// without their item or part events still gives whole blocks.
func TestResponsesDecoderWithoutAddedEvents(t *testing.T) {
	t.Parallel()
	dec := ResponsesCodec{}.NewStreamDecoder()
	var got []canon.Event
	for _, ev := range []struct{ name, data string }{
		{"response.created", `{"response":{"id":"resp_1","model":"m"}}`},
		{"response.reasoning_text.delta", `{"output_index":0,"content_index":0,"delta":"think"}`},
		{"response.output_text.delta", `{"output_index":1,"content_index":0,"delta":"Hi"}`},
		{"response.completed", `{"response":{"status":"completed","usage":{"input_tokens":3,"output_tokens":2}}}`},
	} {
		out, err := dec.Decode(ev.name, []byte(ev.data))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
	}
	var types []canon.EventType
	for _, ev := range got {
		types = append(types, ev.Type)
	}
	want := []canon.EventType{canon.EventStart, canon.EventBlockStart, canon.EventDelta, canon.EventBlockStart, canon.EventDelta,
		canon.EventBlockStop, canon.EventBlockStop, canon.EventMessageDelta, canon.EventStop}
	if !reflect.DeepEqual(types, want) || got[1].Block.Type != canon.BlockThinking || got[4].Text != "Hi" {
		t.Errorf("events %+v", got)
	}
}

// TestResponsesCustomTool: a custom tool (Codex's freeform apply_patch)
// is a function tool with one string member upstream, and its call comes
// back to the client as a custom_tool_call with the raw input.
func TestResponsesCustomTool(t *testing.T) {
	t.Parallel()
	req, err := ResponsesCodec{}.DecodeRequest([]byte(`{"model":"gpt-5-codex","stream":true,"tools":[
		{"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: begin_patch"}},
		{"type":"function","name":"shell","parameters":{"type":"object","properties":{"input":{"type":"string"}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := customTools(req); !reflect.DeepEqual(got, map[string]bool{"apply_patch": true}) {
		t.Fatalf("custom tools %v", got)
	}
	patch := "*** Begin Patch\n*** Add File: a.txt\n+hi \"there\"\n*** End Patch"
	wrapped, _ := json.Marshal(customInput{patch})
	enc := ResponsesCodec{}.NewStreamEncoder(req)
	var evs []canon.SSE
	for _, ev := range []canon.Event{
		{Type: canon.EventStart, ID: "msg_1", Model: "claude"},
		{Type: canon.EventBlockStart, Index: 0, Block: &canon.Block{Type: canon.BlockToolCall, ID: "toolu_1", Name: "apply_patch"}},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaArguments, Text: string(wrapped[:10])},
		{Type: canon.EventDelta, Index: 0, Delta: canon.DeltaArguments, Text: string(wrapped[10:])},
		{Type: canon.EventBlockStop, Index: 0},
		{Type: canon.EventBlockStart, Index: 1, Block: &canon.Block{Type: canon.BlockToolCall, ID: "toolu_2", Name: "shell", Arguments: json.RawMessage(`{"input":"ls"}`)}},
		{Type: canon.EventBlockStop, Index: 1},
		{Type: canon.EventMessageDelta, StopReason: canon.StopToolUse},
		{Type: canon.EventStop},
	} {
		evs = append(evs, enc.Encode(ev)...)
	}
	client := serve(t, "text/event-stream", sseText(evs))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-5"})
	var input string
	var completed *responses.Response
	for stream.Next() {
		switch e := stream.Current().AsAny().(type) {
		case responses.ResponseCustomToolCallInputDoneEvent:
			input = e.Input
		case responses.ResponseCompletedEvent:
			completed = &e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if input != patch || completed == nil || len(completed.Output) != 2 {
		t.Fatalf("input %q, completed %v", input, completed)
	}
	if c := completed.Output[0]; c.Type != "custom_tool_call" || c.CallID != "toolu_1" || c.Input != patch {
		t.Errorf("custom call %s", c.RawJSON())
	}
	if f := completed.Output[1]; f.Type != "function_call" || f.Arguments.OfString != `{"input":"ls"}` {
		t.Errorf("function call %s", f.RawJSON())
	}
}
