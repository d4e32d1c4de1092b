// Package toolloop runs one tool-use loop through the gateway with an
// official SDK, as a user's program does: a request with a tool, the
// model's call of it, the tool's result sent back, the final text. The
// simulated upstream plays the model (fakeupstream.HeaderToolCall), so
// the loop works for every client format on every upstream format, which
// is what the translation tests (issue 12) need.
package toolloop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"aether/internal/testkit/fakeupstream"
)

// Tool is the tool every loop offers and the simulated upstream calls.
const Tool = "get_weather"

// Result is what a user sees of one loop.
type Result struct {
	// Name and Arguments are the tool call as the client read it.
	Name, Arguments string
	// Text is the final answer after the tool's result.
	Text string
	// RequestIDs are the gateway's X-Request-ID of both requests.
	RequestIDs [2]string
}

var schema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"city": map[string]any{"type": "string"},
		"days": map[string]any{"type": "integer"},
	},
	"required": []string{"city"},
}

// errNoCall is a first answer without a tool call.
var errNoCall = errors.New("toolloop: the first answer has no tool call")

// Anthropic runs the loop with anthropic-sdk-go against the gateway at
// base (Messages API), streaming or not.
func Anthropic(ctx context.Context, base, key, model string, stream bool) (Result, error) {
	c := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(key), aoption.WithMaxRetries(0),
		aoption.WithHeader(fakeupstream.HeaderToolCall, Tool))
	params := anthropic.MessageNewParams{
		Model: anthropic.Model(model), MaxTokens: 512,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Zürich?"))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: Tool, Description: anthropic.String("Weather forecast for a city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: schema["properties"], Required: []string{"city"}},
		}}},
	}
	var res Result
	send := func(i int) (*anthropic.Message, error) {
		var resp *http.Response
		defer func() {
			if resp != nil {
				res.RequestIDs[i] = resp.Header.Get("X-Request-ID")
			}
		}()
		if !stream {
			return c.Messages.New(ctx, params, aoption.WithResponseInto(&resp))
		}
		s := c.Messages.NewStreaming(ctx, params, aoption.WithResponseInto(&resp))
		var msg anthropic.Message
		for s.Next() {
			if err := msg.Accumulate(s.Current()); err != nil {
				return nil, err
			}
		}
		return &msg, s.Err()
	}
	msg, err := send(0)
	if err != nil {
		return res, err
	}
	var id string
	for _, b := range msg.Content {
		if b.Type == "tool_use" {
			id, res.Name, res.Arguments = b.ID, b.Name, string(b.Input)
		}
	}
	if id == "" || msg.StopReason != anthropic.StopReasonToolUse {
		return res, errNoCall
	}
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(id, "Sunny, 21 °C", false)))
	if msg, err = send(1); err != nil {
		return res, err
	}
	for _, b := range msg.Content {
		res.Text += b.Text
	}
	return res, nil
}

// Responses runs the loop with openai-go's Responses API against the
// gateway at base (without /v1), streaming or not. A stream's tool call
// is read from its argument deltas, not from the final response.
func Responses(ctx context.Context, base, key, model string, stream bool) (Result, error) {
	c := openai.NewClient(ooption.WithBaseURL(base+"/v1/"), ooption.WithAPIKey(key), ooption.WithMaxRetries(0),
		ooption.WithHeader(fakeupstream.HeaderToolCall, Tool))
	input := responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage("What is the weather in Zürich?", responses.EasyInputMessageRoleUser)}
	params := responses.ResponseNewParams{
		Model: model, Store: openai.Bool(false),
		Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction(Tool, schema, false)},
	}
	var res Result
	var deltas string
	send := func(i int) (*responses.Response, error) {
		params.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: input}
		var resp *http.Response
		defer func() {
			if resp != nil {
				res.RequestIDs[i] = resp.Header.Get("X-Request-ID")
			}
		}()
		if !stream {
			return c.Responses.New(ctx, params, ooption.WithResponseInto(&resp))
		}
		s := c.Responses.NewStreaming(ctx, params, ooption.WithResponseInto(&resp))
		var done *responses.Response
		for s.Next() {
			switch ev := s.Current().AsAny().(type) {
			case responses.ResponseFunctionCallArgumentsDeltaEvent:
				deltas += ev.Delta
			case responses.ResponseCompletedEvent:
				done = &ev.Response
			}
		}
		if err := s.Err(); err != nil {
			return nil, err
		}
		if done == nil {
			return nil, errors.New("toolloop: stream without response.completed")
		}
		return done, nil
	}
	r, err := send(0)
	if err != nil {
		return res, err
	}
	var callID string
	for _, item := range r.Output {
		if item.Type == "function_call" {
			fc := item.AsFunctionCall()
			callID, res.Name, res.Arguments = fc.CallID, fc.Name, fc.Arguments
		}
	}
	if callID == "" {
		return res, errNoCall
	}
	if stream && deltas != res.Arguments {
		return res, errors.New("toolloop: streamed argument deltas " + deltas + " differ from the call's " + res.Arguments)
	}
	out := responses.ResponseInputItemParamOfFunctionCallOutput("Sunny, 21 °C")
	out.OfFunctionCallOutput.CallID = openai.String(callID)
	input = append(input, responses.ResponseInputItemParamOfFunctionCall(res.Arguments, callID, res.Name), out)
	if r, err = send(1); err != nil {
		return res, err
	}
	res.Text = r.OutputText()
	return res, nil
}

// Chat runs the loop with openai-go's Chat Completions API.
func Chat(ctx context.Context, base, key, model string, stream bool) (Result, error) {
	c := openai.NewClient(ooption.WithBaseURL(base+"/v1/"), ooption.WithAPIKey(key), ooption.WithMaxRetries(0),
		ooption.WithHeader(fakeupstream.HeaderToolCall, Tool))
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Zürich?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: Tool, Parameters: openai.FunctionParameters(schema),
		})},
	}
	var res Result
	send := func(i int) (*openai.ChatCompletion, error) {
		var resp *http.Response
		defer func() {
			if resp != nil {
				res.RequestIDs[i] = resp.Header.Get("X-Request-ID")
			}
		}()
		if !stream {
			return c.Chat.Completions.New(ctx, params, ooption.WithResponseInto(&resp))
		}
		s := c.Chat.Completions.NewStreaming(ctx, params, ooption.WithResponseInto(&resp))
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		return &acc.ChatCompletion, s.Err()
	}
	cc, err := send(0)
	if err != nil {
		return res, err
	}
	if len(cc.Choices) == 0 || len(cc.Choices[0].Message.ToolCalls) == 0 {
		return res, errNoCall
	}
	call := cc.Choices[0].Message.ToolCalls[0]
	res.Name, res.Arguments = call.Function.Name, call.Function.Arguments
	params.Messages = append(params.Messages, cc.Choices[0].Message.ToParam(), openai.ToolMessage("Sunny, 21 °C", call.ID))
	if cc, err = send(1); err != nil {
		return res, err
	}
	if len(cc.Choices) > 0 {
		res.Text = cc.Choices[0].Message.Content
	}
	return res, nil
}

// Gemini runs the loop with google.golang.org/genai.
func Gemini(ctx context.Context, base, key, model string, stream bool) (Result, error) {
	var res Result
	var last *http.Response
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			last = resp
		}
		return resp, err
	})}
	c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI, HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{BaseURL: base + "/", Headers: http.Header{fakeupstream.HeaderToolCall: {Tool}}}})
	if err != nil {
		return res, err
	}
	cfg := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name: Tool, Description: "Weather forecast for a city", ParametersJsonSchema: schema,
	}}}}}
	contents := []*genai.Content{genai.NewContentFromText("What is the weather in Zürich?", genai.RoleUser)}
	send := func(i int) (*genai.Content, error) {
		defer func() {
			if last != nil {
				res.RequestIDs[i] = last.Header.Get("X-Request-ID")
			}
		}()
		if !stream {
			r, err := c.Models.GenerateContent(ctx, model, contents, cfg)
			if err != nil {
				return nil, err
			}
			if len(r.Candidates) == 0 || r.Candidates[0].Content == nil {
				return nil, errors.New("toolloop: no candidate")
			}
			return r.Candidates[0].Content, nil
		}
		out := &genai.Content{Role: genai.RoleModel}
		for r, err := range c.Models.GenerateContentStream(ctx, model, contents, cfg) {
			if err != nil {
				return nil, err
			}
			if len(r.Candidates) > 0 && r.Candidates[0].Content != nil {
				out.Parts = append(out.Parts, r.Candidates[0].Content.Parts...)
			}
		}
		return out, nil
	}
	got, err := send(0)
	if err != nil {
		return res, err
	}
	var call *genai.FunctionCall
	for _, p := range got.Parts {
		if p.FunctionCall != nil {
			call = p.FunctionCall
		}
	}
	if call == nil {
		return res, errNoCall
	}
	res.Name = call.Name
	args, err := jsonString(call.Args)
	if err != nil {
		return res, err
	}
	res.Arguments = args
	contents = append(contents, got, genai.NewContentFromFunctionResponse(call.Name, map[string]any{"forecast": "Sunny, 21 °C"}, genai.RoleUser))
	if got, err = send(1); err != nil {
		return res, err
	}
	for _, p := range got.Parts {
		if !p.Thought {
			res.Text += p.Text
		}
	}
	return res, nil
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// SameJSON reports whether two JSON texts hold the same value (a client
// may re-encode a tool call's arguments with its keys in another order).
func SameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
