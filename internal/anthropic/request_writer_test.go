package anthropic

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"aether/internal/canon"
	"aether/internal/gemini"
	"aether/internal/openai"
)

// requestDecoders read the fuzz bodies in every inbound format, so the
// writer sees what each of them gives.
var requestDecoders = []func([]byte) (*canon.Request, error){
	Codec{}.DecodeRequest,
	openai.ChatCodec{}.DecodeRequest,
	openai.ResponsesCodec{}.DecodeRequest,
	gemini.Codec{}.DecodeRequest,
}

// FuzzAppendRequest: where appendRequest writes a request, it writes
// exactly what encodeRequestJSON writes; where it does not,
// encodeRequestJSON fails. The knobs vary what the bodies do not set.
func FuzzAppendRequest(f *testing.F) {
	for _, pattern := range []string{"*_request.json", "bench/*_request.json"} {
		files, _ := filepath.Glob(filepath.Join("..", "translate", "testdata", pattern))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for format := range requestDecoders {
				for _, knobs := range []uint16{0, 0xFFFF, 0x5555, 0xAAAA} {
					f.Add(b, uint8(format), knobs, 0.5, "high", "u<1>")
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, format uint8, knobs uint16, temp float64, effort, text string) {
		r, err := requestDecoders[int(format)%len(requestDecoders)](body)
		if err != nil {
			return
		}
		bit := func(i int) bool { return knobs&(1<<i) != 0 }
		if bit(0) {
			r.Temperature, r.TopP = &temp, &temp
		}
		if bit(1) {
			r.Reasoning = &canon.Reasoning{Effort: effort, Disabled: bit(2)}
		}
		if bit(3) {
			r.Reasoning = &canon.Reasoning{BudgetTokens: int64(knobs >> 4)}
		}
		if bit(4) {
			r.ToolChoice = &canon.ToolChoice{Mode: []canon.ToolChoiceMode{canon.ToolAuto, canon.ToolNone, canon.ToolRequired, canon.ToolNamed}[knobs>>12&3], Name: text}
		}
		if bit(5) {
			no := bit(6)
			r.ParallelToolCalls = &no
		}
		if bit(7) {
			r.Stop, r.User, r.Stream = []string{text, effort}, text, !r.Stream
		}
		if bit(8) {
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Schema: []byte(text)}
		}
		if bit(9) {
			r.System = append(r.System, canon.Block{Type: canon.BlockText, Text: text},
				canon.Block{Type: canon.BlockImage, URL: effort}, canon.Block{Type: canon.BlockImage, MediaType: text, Data: effort})
		}
		if bit(10) && len(r.Messages) > 0 {
			m := &r.Messages[len(r.Messages)-1]
			m.Content = append(m.Content, canon.Block{Type: canon.BlockToolCall, ID: text, Name: effort, Arguments: []byte(text)},
				canon.Block{Type: canon.BlockToolResult, ID: effort, IsError: bit(11)},
				canon.Block{Type: canon.BlockThinking, Text: text, Signature: effort},
				canon.Block{Type: canon.BlockRedactedThinking, Data: text})
		}
		if bit(11) {
			r.Tools = append(r.Tools, canon.Tool{Name: text, Description: effort, Parameters: []byte(effort)})
		}
		want, wantErr := encodeRequestJSON(r)
		got, ok := appendRequest(nil, r)
		switch {
		case !ok && wantErr == nil:
			t.Fatalf("appendRequest refused a request encodeRequestJSON writes:\n%s", want)
		case ok && wantErr != nil:
			t.Fatalf("appendRequest wrote a request encodeRequestJSON refuses (%v):\n%s", wantErr, got)
		case ok && !bytes.Equal(got, want):
			t.Fatalf("appendRequest and encodeRequestJSON differ:\n%s\n%s", got, want)
		}
	})
}
