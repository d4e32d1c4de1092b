package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"

	"aether/internal/canon"
	"aether/internal/llm"
)

// Codec translates the generateContent and streamGenerateContent API to
// and from the canonical model (internal/canon, issue 12). The model and
// whether to stream are in Gemini's URL, not its body: the proxy adds them
// to a client's body as top-level "model" and "stream" members before
// decoding, and builds an upstream's URL with RequestPath. Mapping and
// dropped fields: docs/translation.md.
type Codec struct{}

// RequestPath is the upstream path (and query) for a translated request:
// streamGenerateContent with alt=sse for a stream, generateContent
// otherwise.
func RequestPath(model string, stream bool) string {
	p := "/v1beta/models/" + url.PathEscape(model)
	if stream {
		return p + ":streamGenerateContent?alt=sse"
	}
	return p + ":generateContent"
}

// Signature prefixes (docs/translation.md, "Gemini"). A Gemini
// thoughtSignature can be verified by Gemini only, so in the canonical
// model it carries geminiSignature; a signature from another format
// travels through a Gemini client inside a thoughtSignature that holds
// base64 of foreignSignature or foreignRedacted and the original.
const (
	geminiSignature = "gemini:"
	foreignPrefix   = "aether:"
	foreignSigned   = foreignPrefix + "s:"
	foreignRedacted = foreignPrefix + "r:"
	// skipSignature is Google's documented placeholder for a function call
	// in history that Gemini did not sign (history from another model).
	skipSignature = "skip_thought_signature_validator"
)

// Thinking budgets for a reasoning effort, as the Anthropic codec's.
var effortBudgets = map[string]int64{"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}

// maxStopSequences is the most stopSequences Gemini accepts.
const maxStopSequences = 5

type blobJSON struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileJSON struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCallJSON struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponseJSON struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
	Parts    []partJSON      `json:"parts,omitempty"`
}

// partJSON is one Part, read and written; field order follows the API
// reference.
type partJSON struct {
	Thought          bool                  `json:"thought,omitempty"`
	Text             *string               `json:"text,omitempty"`
	InlineData       *blobJSON             `json:"inlineData,omitempty"`
	FileData         *fileJSON             `json:"fileData,omitempty"`
	FunctionCall     *functionCallJSON     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponseJSON `json:"functionResponse,omitempty"`
	ThoughtSignature string                `json:"thoughtSignature,omitempty"`
}

type contentJSON struct {
	Role  string     `json:"role,omitempty"`
	Parts []partJSON `json:"parts"`
}

type declarationJSON struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type thinkingConfigJSON struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int64 `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

type generationConfigJSON struct {
	StopSequences      []string            `json:"stopSequences,omitempty"`
	ResponseMimeType   string              `json:"responseMimeType,omitempty"`
	ResponseSchema     json.RawMessage     `json:"responseSchema,omitempty"`
	ResponseJSONSchema json.RawMessage     `json:"responseJsonSchema,omitempty"`
	CandidateCount     int64               `json:"candidateCount,omitempty"`
	MaxOutputTokens    int64               `json:"maxOutputTokens,omitempty"`
	Temperature        *float64            `json:"temperature,omitempty"`
	TopP               *float64            `json:"topP,omitempty"`
	ThinkingConfig     *thinkingConfigJSON `json:"thinkingConfig,omitempty"`
}

type functionCallingConfigJSON struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type toolConfigJSON struct {
	FunctionCallingConfig *functionCallingConfigJSON `json:"functionCallingConfig,omitempty"`
}

type toolJSON struct {
	FunctionDeclarations []declarationJSON `json:"functionDeclarations,omitempty"`
}

type requestJSON struct {
	// Model and Stream are not Gemini's: the proxy adds them from the URL.
	Model             string                `json:"model,omitempty"`
	Stream            bool                  `json:"stream,omitempty"`
	Contents          []contentJSON         `json:"contents"`
	SystemInstruction *contentJSON          `json:"systemInstruction,omitempty"`
	Tools             []toolJSON            `json:"tools,omitempty"`
	ToolConfig        *toolConfigJSON       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfigJSON `json:"generationConfig,omitempty"`
}

func invalid(msg string) error {
	return &canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: msg}
}

// DecodeRequest reads a generateContent request body, with the proxy's
// "model" and "stream" members when present.
func (Codec) DecodeRequest(body []byte) (*canon.Request, error) {
	var in requestJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalid("invalid request body: " + err.Error())
	}
	r := &canon.Request{Model: in.Model, Stream: in.Stream, StreamUsage: in.Stream}
	if in.SystemInstruction != nil {
		for _, p := range in.SystemInstruction.Parts {
			if p.Text != nil && *p.Text != "" && !p.Thought {
				r.System = append(r.System, canon.Block{Type: canon.BlockText, Text: *p.Text})
			}
		}
	}
	ids := newCallIDs()
	for _, c := range in.Contents {
		m := canon.Message{Role: canon.RoleUser}
		if c.Role == "model" {
			m.Role = canon.RoleAssistant
		}
		m.Content = ids.decodeParts(c.Parts)
		r.Messages = append(r.Messages, m)
	}
	for _, t := range in.Tools {
		for _, d := range t.FunctionDeclarations {
			params := d.ParametersJSONSchema
			if len(params) == 0 {
				params = jsonSchema(d.Parameters)
			}
			r.Tools = append(r.Tools, canon.Tool{Name: d.Name, Description: d.Description, Parameters: params})
		}
	}
	if tc := in.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		switch strings.ToUpper(fc.Mode) {
		case "AUTO", "VALIDATED":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolAuto}
		case "NONE":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNone}
		case "ANY":
			r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolRequired}
			if len(fc.AllowedFunctionNames) == 1 {
				r.ToolChoice = &canon.ToolChoice{Mode: canon.ToolNamed, Name: fc.AllowedFunctionNames[0]}
			}
		}
	}
	if g := in.GenerationConfig; g != nil {
		r.MaxTokens, r.Temperature, r.TopP, r.Stop = g.MaxOutputTokens, g.Temperature, g.TopP, g.StopSequences
		if g.ResponseMimeType == "application/json" {
			schema := g.ResponseJSONSchema
			if len(schema) == 0 {
				schema = jsonSchema(g.ResponseSchema)
			}
			if isObject(schema) {
				r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Name: "response", Schema: schema}
			} else {
				r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONObject}
			}
		}
		if tc := g.ThinkingConfig; tc != nil {
			switch {
			case tc.ThinkingBudget != nil && *tc.ThinkingBudget == 0:
				r.Reasoning = &canon.Reasoning{Disabled: true}
			case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0:
				r.Reasoning = &canon.Reasoning{BudgetTokens: *tc.ThinkingBudget}
			case tc.ThinkingLevel != "":
				r.Reasoning = &canon.Reasoning{Effort: strings.ToLower(tc.ThinkingLevel)}
			case tc.ThinkingBudget != nil || tc.IncludeThoughts:
				// -1 is Gemini's dynamic budget.
				r.Reasoning = &canon.Reasoning{Effort: "medium"}
			}
		}
	}
	return r, nil
}

// callIDs gives function calls without an id a stable one and matches
// each functionResponse to its call: by id, else to the oldest unanswered
// call of the same name (Gemini clients answer by name).
type callIDs struct {
	base    string // responseId, for ids unique across turns
	n       int
	known   map[string]bool
	pending map[string][]string // name → ids of unanswered calls
}

func newCallIDs() *callIDs {
	return &callIDs{known: map[string]bool{}, pending: map[string][]string{}}
}

// call gives a call's canonical id.
func (c *callIDs) call(id, name string) string {
	if id == "" {
		id = syntheticID(cmpOr(c.base, name), c.n)
	}
	c.n++
	c.known[id] = true
	c.pending[name] = append(c.pending[name], id)
	return id
}

// response gives the id of the call a functionResponse answers.
func (c *callIDs) response(id, name string) string {
	if id != "" && c.known[id] {
		c.pending[name] = removeID(c.pending[name], id)
		return id
	}
	if q := c.pending[name]; len(q) > 0 {
		c.pending[name] = q[1:]
		return q[0]
	}
	if id == "" {
		id = syntheticID(name, c.n)
		c.n++
	}
	return id
}

func removeID(ids []string, id string) []string {
	for i, v := range ids {
		if v == id {
			return append(ids[:i:i], ids[i+1:]...)
		}
	}
	return ids
}

// syntheticID makes a tool call id from a name or response id and the
// call's position: only [A-Za-z0-9_-] (Anthropic's pattern) and at most 40
// characters (Chat's limit).
func syntheticID(base string, n int) string {
	var b strings.Builder
	b.WriteString("call_")
	for _, r := range base {
		if b.Len() >= 29 {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	b.WriteString(strconv.Itoa(n))
	return b.String()
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// decodeParts reads one Content's parts. A thoughtSignature on a function
// call becomes a thinking block with no text right before it, so formats
// with signed thinking (Anthropic) carry it back; a signature on a text
// part is dropped (Gemini asks for it back but does not require it).
func (c *callIDs) decodeParts(parts []partJSON) []canon.Block {
	var out []canon.Block
	for _, p := range parts {
		switch {
		case p.FunctionCall != nil:
			if p.ThoughtSignature != "" {
				out = append(out, signatureBlock(p.ThoughtSignature))
			}
			fc := p.FunctionCall
			args := fc.Args
			if !isObject(args) {
				args = json.RawMessage("{}")
			}
			out = append(out, canon.Block{Type: canon.BlockToolCall, ID: c.call(fc.ID, fc.Name), Name: fc.Name, Arguments: args})
		case p.FunctionResponse != nil:
			fr := p.FunctionResponse
			b := canon.Block{Type: canon.BlockToolResult, ID: c.response(fr.ID, fr.Name), Name: fr.Name}
			b.Content, b.IsError = resultContent(fr.Response)
			for _, rp := range fr.Parts {
				if img, ok := imageFromPart(rp); ok {
					b.Content = append(b.Content, img)
				}
			}
			out = append(out, b)
		case p.Thought:
			if p.ThoughtSignature != "" {
				if b, ok := foreignBlock(p.ThoughtSignature); ok {
					if b.Type == canon.BlockThinking && p.Text != nil {
						b.Text = *p.Text
					}
					out = append(out, b)
					continue
				}
			}
			b := canon.Block{Type: canon.BlockThinking}
			if p.Text != nil {
				b.Text = *p.Text
			}
			if p.ThoughtSignature != "" {
				b.Signature = geminiSignature + p.ThoughtSignature
			}
			if b.Text != "" || b.Signature != "" {
				out = append(out, b)
			}
		case p.Text != nil:
			if *p.Text != "" {
				out = append(out, canon.Block{Type: canon.BlockText, Text: *p.Text})
			}
		default:
			if img, ok := imageFromPart(p); ok {
				out = append(out, img)
			}
		}
	}
	return out
}

func signatureBlock(sig string) canon.Block {
	if b, ok := foreignBlock(sig); ok {
		return b
	}
	return canon.Block{Type: canon.BlockThinking, Signature: geminiSignature + sig}
}

// foreignBlock reads a thoughtSignature this codec wrote around another
// format's signature or redacted thinking.
func foreignBlock(sig string) (canon.Block, bool) {
	if !strings.HasPrefix(sig, "YWV0aGVyO") { // base64 of "aether:"
		return canon.Block{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return canon.Block{}, false
	}
	s := string(raw)
	if v, ok := strings.CutPrefix(s, foreignSigned); ok {
		return canon.Block{Type: canon.BlockThinking, Signature: v}, true
	}
	if v, ok := strings.CutPrefix(s, foreignRedacted); ok {
		return canon.Block{Type: canon.BlockRedactedThinking, Data: v}, true
	}
	return canon.Block{}, false
}

// imageFromPart reads inlineData or fileData holding an image; other media
// (audio, video, PDF) have no canonical block and are dropped.
func imageFromPart(p partJSON) (canon.Block, bool) {
	switch {
	case p.InlineData != nil && strings.HasPrefix(p.InlineData.MimeType, "image/"):
		return canon.Block{Type: canon.BlockImage, MediaType: p.InlineData.MimeType, Data: p.InlineData.Data}, true
	case p.FileData != nil && p.FileData.FileURI != "" && (p.FileData.MimeType == "" || strings.HasPrefix(p.FileData.MimeType, "image/")):
		return canon.Block{Type: canon.BlockImage, URL: p.FileData.FileURI, MediaType: p.FileData.MimeType}, true
	}
	return canon.Block{}, false
}

// resultContent reads a functionResponse's response object: {"output": text}
// and {"error": text} (Gemini's documented keys) give their text; any other
// object is kept as JSON text.
func resultContent(raw json.RawMessage) ([]canon.Block, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil && len(obj) == 1 {
		for k, v := range obj {
			var s string
			if (k == "output" || k == "error") && json.Unmarshal(v, &s) == nil {
				return []canon.Block{{Type: canon.BlockText, Text: s}}, k == "error"
			}
		}
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return nil, false
	}
	return []canon.Block{{Type: canon.BlockText, Text: compact.String()}}, false
}

// jsonSchema turns Gemini's OpenAPI-style schema (upper-case type names)
// into JSON Schema; anything else is kept as it is.
func jsonSchema(raw json.RawMessage) json.RawMessage {
	if !isObject(raw) || !hasUpperType(raw) {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	lowerTypes(v, 0)
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

var upperTypes = [][]byte{[]byte(`"OBJECT"`), []byte(`"STRING"`), []byte(`"NUMBER"`), []byte(`"INTEGER"`), []byte(`"BOOLEAN"`), []byte(`"ARRAY"`), []byte(`"NULL"`)}

func hasUpperType(raw []byte) bool {
	for _, t := range upperTypes {
		if bytes.Contains(raw, t) {
			return true
		}
	}
	return false
}

func lowerTypes(v any, depth int) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "type" {
				x[k] = strings.ToLower(s)
				continue
			}
			lowerTypes(val, depth+1)
		}
	case []any:
		for _, val := range x {
			lowerTypes(val, depth+1)
		}
	}
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

// EncodeRequest writes a generateContent body. The model is not in it:
// the proxy puts r.Model in the URL (RequestPath).
func (Codec) EncodeRequest(r *canon.Request) ([]byte, error) {
	out := requestJSON{Contents: []contentJSON{}}
	var sys []partJSON
	for _, b := range r.System {
		if b.Type == canon.BlockText && b.Text != "" {
			sys = append(sys, textPart(b.Text))
		}
	}
	if len(sys) > 0 {
		out.SystemInstruction = &contentJSON{Parts: sys}
	}
	names := map[string]string{} // call id → function name, for functionResponse
	for _, m := range r.Messages {
		for _, b := range m.Content {
			if b.Type == canon.BlockToolCall {
				names[b.ID] = b.Name
			}
		}
	}
	older := !signsCalls(r.Model)
	for _, m := range r.Messages {
		c := contentJSON{Role: "user"}
		if m.Role == canon.RoleAssistant {
			c.Role = "model"
			c.Parts = modelParts(m.Content, !older)
		} else {
			c.Parts = userParts(m.Content, names)
		}
		if len(c.Parts) == 0 {
			continue // Gemini rejects a content without parts
		}
		if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == c.Role {
			out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, c.Parts...)
			continue
		}
		out.Contents = append(out.Contents, c)
	}
	if len(r.Tools) > 0 {
		decls := make([]declarationJSON, len(r.Tools))
		for i, t := range r.Tools {
			decls[i] = declarationJSON{Name: t.Name, Description: t.Description}
			if isObject(t.Parameters) {
				decls[i].ParametersJSONSchema = t.Parameters
			}
		}
		out.Tools = []toolJSON{{FunctionDeclarations: decls}}
	}
	if tc := r.ToolChoice; tc != nil && len(r.Tools) > 0 { // as the other codecs: no choice without tools
		fc := &functionCallingConfigJSON{}
		switch tc.Mode {
		case canon.ToolAuto:
			fc.Mode = "AUTO"
		case canon.ToolNone:
			fc.Mode = "NONE"
		case canon.ToolRequired:
			fc.Mode = "ANY"
		case canon.ToolNamed:
			fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Name}
		}
		if fc.Mode != "" {
			out.ToolConfig = &toolConfigJSON{FunctionCallingConfig: fc}
		}
	}
	g := generationConfigJSON{MaxOutputTokens: max(r.MaxTokens, 0), Temperature: r.Temperature, TopP: r.TopP}
	if len(r.Stop) > 0 {
		g.StopSequences = r.Stop[:min(len(r.Stop), maxStopSequences)]
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case canon.FormatJSONObject:
			g.ResponseMimeType = "application/json"
		case canon.FormatJSONSchema:
			g.ResponseMimeType = "application/json"
			if isObject(f.Schema) {
				g.ResponseJSONSchema = f.Schema
			}
		}
	}
	if rs := r.Reasoning; rs != nil {
		switch {
		case rs.Disabled:
			zero := int64(0)
			g.ThinkingConfig = &thinkingConfigJSON{ThinkingBudget: &zero}
		case rs.BudgetTokens > 0 || rs.Effort != "":
			budget := rs.BudgetTokens
			if budget <= 0 {
				budget = cmpOr(effortBudgets[rs.Effort], effortBudgets["medium"])
			}
			g.ThinkingConfig = &thinkingConfigJSON{IncludeThoughts: true, ThinkingBudget: &budget}
		}
	}
	if g.StopSequences != nil || g.ResponseMimeType != "" || g.MaxOutputTokens > 0 || g.Temperature != nil || g.TopP != nil || g.ThinkingConfig != nil {
		out.GenerationConfig = &g
	}
	return json.Marshal(out)
}

// signsCalls reports whether a model checks thought signatures on function
// calls in history (Gemini 3 and later); an unknown name is assumed to.
func signsCalls(model string) bool {
	name := path.Base(model) // "models/gemini-2.5-flash" or a bare name
	return !strings.HasPrefix(name, "gemini-1") && !strings.HasPrefix(name, "gemini-2")
}

func textPart(s string) partJSON { return partJSON{Text: &s} }

// modelParts writes an assistant turn. Thinking signed by Gemini goes back
// as Gemini gave it: with its text as a thought part, without text on the
// next part. Thinking from another format has nothing Gemini can verify
// and is dropped. With placeholder set, a turn's first function call
// without a signature gets skipSignature.
func modelParts(blocks []canon.Block, placeholder bool) []partJSON {
	var out []partJSON
	pending := ""
	signed := false
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockThinking:
			sig, ok := strings.CutPrefix(b.Signature, geminiSignature)
			if !ok || sig == "" {
				continue
			}
			if b.Text == "" {
				pending = sig
				continue
			}
			p := textPart(b.Text)
			p.Thought, p.ThoughtSignature = true, sig
			out = append(out, p)
		case canon.BlockText:
			if b.Text == "" {
				continue
			}
			p := textPart(b.Text)
			p.ThoughtSignature, pending = pending, ""
			out = append(out, p)
		case canon.BlockImage:
			out = append(out, imagePart(b))
		case canon.BlockToolCall:
			args := b.Arguments
			if !isObject(args) {
				args = json.RawMessage("{}")
			}
			p := partJSON{FunctionCall: &functionCallJSON{ID: b.ID, Name: b.Name, Args: args}, ThoughtSignature: pending}
			pending = ""
			if p.ThoughtSignature == "" && placeholder && !signed {
				p.ThoughtSignature = skipSignature
			}
			signed = true
			out = append(out, p)
		}
	}
	return out
}

// userParts writes a user turn: tool results as functionResponse parts
// named after their call, then their images, then the rest in order.
func userParts(blocks []canon.Block, names map[string]string) []partJSON {
	var out []partJSON
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockText:
			if b.Text != "" {
				out = append(out, textPart(b.Text))
			}
		case canon.BlockImage:
			out = append(out, imagePart(b))
		case canon.BlockToolResult:
			name := cmpOr(names[b.ID], b.Name)
			out = append(out, partJSON{FunctionResponse: &functionResponseJSON{ID: b.ID, Name: cmpOr(name, "unknown"), Response: resultObject(b)}})
			for _, c := range b.Content {
				if c.Type == canon.BlockImage {
					out = append(out, imagePart(c))
				}
			}
		}
	}
	return out
}

// resultObject is a tool result as Gemini's response object: a JSON
// object as it is, other text under "output" ("error" for a failure).
func resultObject(b canon.Block) json.RawMessage {
	var parts []string
	for _, c := range b.Content {
		if c.Type == canon.BlockText && c.Text != "" {
			parts = append(parts, c.Text)
		}
	}
	text := strings.Join(parts, "\n\n")
	if !b.IsError && isObject(json.RawMessage(text)) {
		return json.RawMessage(text)
	}
	key := "output"
	if b.IsError {
		key = "error"
	}
	out, _ := json.Marshal(map[string]string{key: text})
	return out
}

var imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif"}

// imagePart writes base64 as inlineData and a URL as fileData, with the
// MIME type guessed from the URL's extension when the block has none.
func imagePart(b canon.Block) partJSON {
	if b.URL == "" {
		return partJSON{InlineData: &blobJSON{MimeType: b.MediaType, Data: b.Data}}
	}
	mime := b.MediaType
	if mime == "" {
		if u, err := url.Parse(b.URL); err == nil {
			mime = imageTypes[strings.ToLower(path.Ext(u.Path))]
		}
	}
	return partJSON{FileData: &fileJSON{MimeType: mime, FileURI: b.URL}}
}

// Finish reasons (docs/translation.md, "Stop reasons"). STOP is also the
// finish reason of an answer with function calls: tool_use then.
var stopFromGemini = map[string]canon.StopReason{
	"STOP":                     canon.StopEndTurn,
	"MAX_TOKENS":               canon.StopMaxTokens,
	"SAFETY":                   canon.StopContentFilter,
	"RECITATION":               canon.StopContentFilter,
	"BLOCKLIST":                canon.StopContentFilter,
	"PROHIBITED_CONTENT":       canon.StopContentFilter,
	"SPII":                     canon.StopContentFilter,
	"IMAGE_SAFETY":             canon.StopContentFilter,
	"IMAGE_PROHIBITED_CONTENT": canon.StopContentFilter,
}

func stopReason(finish string, calls bool) canon.StopReason {
	s, ok := stopFromGemini[finish]
	if !ok {
		s = canon.StopEndTurn // LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, …
	}
	if calls && s == canon.StopEndTurn {
		return canon.StopToolUse
	}
	return s
}

func finishOut(s canon.StopReason) string {
	switch s {
	case canon.StopMaxTokens:
		return "MAX_TOKENS"
	case canon.StopContentFilter:
		return "SAFETY"
	}
	return "STOP"
}

type candidateJSON struct {
	Content      *contentJSON `json:"content,omitempty"`
	FinishReason string       `json:"finishReason,omitempty"`
	Index        int          `json:"index"`
}

type responseJSON struct {
	Candidates     []candidateJSON `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *usageJSON      `json:"usageMetadata"`
	ModelVersion  string          `json:"modelVersion"`
	ResponseID    string          `json:"responseId"`
	Error         json.RawMessage `json:"error"`
}

// DecodeResponse reads a GenerateContentResponse; only the first candidate
// is kept.
func (Codec) DecodeResponse(body []byte) (*canon.Response, error) {
	var in responseJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	r := &canon.Response{ID: in.ResponseID, Model: in.ModelVersion}
	if in.UsageMetadata != nil {
		r.Usage = in.UsageMetadata.normalise()
	}
	if len(in.Candidates) == 0 {
		if in.PromptFeedback != nil && in.PromptFeedback.BlockReason != "" {
			r.StopReason = canon.StopContentFilter
			return r, nil
		}
		return nil, errors.New("gemini: response without candidates")
	}
	c := in.Candidates[0]
	if c.Content != nil {
		ids := newCallIDs()
		ids.base = in.ResponseID
		r.Content = ids.decodeParts(c.Content.Parts)
	}
	calls := false
	for _, b := range r.Content {
		calls = calls || b.Type == canon.BlockToolCall
	}
	r.StopReason = stopReason(c.FinishReason, calls)
	return r, nil
}

// usageOut is usageMetadata as Gemini writes it: promptTokenCount includes
// the cached tokens (and here the cache writes, which Gemini does not
// report), candidatesTokenCount excludes the thoughts
// (docs/wire-formats.md, "Usage semantics per provider").
type usageOut struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount,omitempty"`
}

func encodeUsage(u llm.Usage) *usageOut {
	thoughts := min(max(u.ReasoningTokens, 0), max(u.OutputTokens, 0))
	return &usageOut{
		PromptTokenCount: u.PromptTokens(), CandidatesTokenCount: u.OutputTokens - thoughts, TotalTokenCount: u.TotalTokens(),
		CachedContentTokenCount: u.CacheReadTokens, ThoughtsTokenCount: thoughts,
	}
}

type responseOut struct {
	Candidates    []candidateJSON `json:"candidates"`
	UsageMetadata *usageOut       `json:"usageMetadata,omitempty"`
	ModelVersion  string          `json:"modelVersion,omitempty"`
	ResponseID    string          `json:"responseId,omitempty"`
}

// EncodeResponse writes a GenerateContentResponse with one candidate.
func (Codec) EncodeResponse(r *canon.Response) ([]byte, error) {
	parts := answerParts(r.Content)
	if parts == nil {
		parts = []partJSON{}
	}
	out := responseOut{
		Candidates:    []candidateJSON{{Content: &contentJSON{Role: "model", Parts: parts}, FinishReason: finishOut(r.StopReason)}},
		UsageMetadata: encodeUsage(r.Usage), ModelVersion: r.Model, ResponseID: r.ID,
	}
	return json.Marshal(out)
}

// answerParts writes an answer's blocks for a Gemini client. Gemini's own
// signatures go back as Gemini placed them; another format's signature or
// redacted thinking is wrapped in a thoughtSignature this codec reads back
// (foreignBlock), so it survives the client's next request.
func answerParts(blocks []canon.Block) []partJSON {
	var out []partJSON
	pending := ""
	for _, b := range blocks {
		switch b.Type {
		case canon.BlockThinking:
			if b.Text == "" && b.Signature == "" {
				continue
			}
			if sig, ok := strings.CutPrefix(b.Signature, geminiSignature); ok && b.Text == "" {
				pending = sig
				continue
			}
			p := textPart(b.Text)
			p.Thought, p.ThoughtSignature = true, thoughtSignatureOut(b.Signature)
			out = append(out, p)
		case canon.BlockRedactedThinking:
			p := textPart("")
			p.Thought, p.ThoughtSignature = true, wrapForeign(foreignRedacted, b.Data)
			out = append(out, p)
		case canon.BlockText:
			p := textPart(b.Text)
			p.ThoughtSignature, pending = pending, ""
			out = append(out, p)
		case canon.BlockImage:
			out = append(out, imagePart(b))
		case canon.BlockToolCall:
			args := b.Arguments
			if !isObject(args) {
				args = json.RawMessage("{}")
			}
			out = append(out, partJSON{FunctionCall: &functionCallJSON{ID: b.ID, Name: b.Name, Args: args}, ThoughtSignature: pending})
			pending = ""
		}
	}
	if pending != "" {
		p := textPart("")
		p.Thought, p.ThoughtSignature = true, pending
		out = append(out, p)
	}
	return out
}

func thoughtSignatureOut(sig string) string {
	if sig == "" {
		return ""
	}
	if s, ok := strings.CutPrefix(sig, geminiSignature); ok {
		return s
	}
	return wrapForeign(foreignSigned, sig)
}

func wrapForeign(prefix, s string) string {
	return base64.StdEncoding.EncodeToString([]byte(prefix + s))
}

type errorJSON struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// errorTypes maps google.rpc status names to canonical error types.
var errorTypes = map[string]canon.ErrorType{
	"INVALID_ARGUMENT":    canon.ErrInvalidRequest,
	"FAILED_PRECONDITION": canon.ErrInvalidRequest,
	"OUT_OF_RANGE":        canon.ErrInvalidRequest,
	"UNAUTHENTICATED":     canon.ErrAuthentication,
	"PERMISSION_DENIED":   canon.ErrPermission,
	"NOT_FOUND":           canon.ErrNotFound,
	"RESOURCE_EXHAUSTED":  canon.ErrRateLimit,
	"UNAVAILABLE":         canon.ErrOverloaded,
	"INTERNAL":            canon.ErrAPI,
	"UNKNOWN":             canon.ErrAPI,
	"DEADLINE_EXCEEDED":   canon.ErrAPI,
}

// DecodeError reads {"error":{"code","message","status"}}, also inside a
// JSON array (a stream without alt=sse); status is 0 for an error chunk.
func (Codec) DecodeError(status int, body []byte) *canon.Error {
	e := &canon.Error{Status: status, Type: canon.TypeForStatus(status)}
	body = bytes.TrimSpace(body)
	var in errorJSON
	if len(body) > 0 && body[0] == '[' {
		var arr []errorJSON
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			in = arr[0]
		}
	} else {
		_ = json.Unmarshal(body, &in)
	}
	e.Message = in.Error.Message
	if t, ok := errorTypes[in.Error.Status]; ok {
		e.Type = t
	} else if status == 0 && in.Error.Code != 0 {
		e.Type = canon.TypeForStatus(in.Error.Code)
	}
	if e.Message == "" {
		e.Message = "upstream error"
	}
	return e
}

// errorStatus gives each canonical type its google.rpc status name and the
// HTTP code for an error without a status (a stream's error chunk).
var errorStatus = map[canon.ErrorType]struct {
	name string
	code int
}{
	canon.ErrInvalidRequest: {"INVALID_ARGUMENT", 400},
	canon.ErrAuthentication: {"UNAUTHENTICATED", 401},
	canon.ErrPermission:     {"PERMISSION_DENIED", 403},
	canon.ErrNotFound:       {"NOT_FOUND", 404},
	canon.ErrTooLarge:       {"INVALID_ARGUMENT", 413},
	canon.ErrRateLimit:      {"RESOURCE_EXHAUSTED", 429},
	canon.ErrAPI:            {"INTERNAL", 500},
	canon.ErrOverloaded:     {"UNAVAILABLE", 503},
}

// EncodeError writes a Gemini error body; the caller answers with
// e.Status.
func (Codec) EncodeError(e *canon.Error) []byte {
	k, ok := errorStatus[e.Type]
	if !ok {
		k = errorStatus[canon.ErrAPI]
	}
	var out errorJSON
	out.Error.Code, out.Error.Message, out.Error.Status = cmpOr(e.Status, k.code), e.Message, k.name
	b, _ := json.Marshal(out)
	return b
}
