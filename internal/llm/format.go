package llm

// Format is a client-facing and upstream API wire format.
type Format string

// The API formats Aether speaks. A request passes through to an endpoint
// of its own format, and is translated for one of another (issue 12,
// routing.Endpoint).
const (
	FormatOpenAI    Format = "openai"
	FormatAnthropic Format = "anthropic"
	FormatGemini    Format = "gemini"
)

// FormatOpenAIChat is an endpoint format only, never a client's: an
// OpenAI-compatible server that has Chat Completions but no Responses API
// (DeepSeek, vLLM, Ollama). A Chat client passes through to it; a
// Responses client is translated to Chat (issue 12).
const FormatOpenAIChat Format = "openai-chat"

// EndpointFormats lists every endpoint format, in a fixed order: the
// order routing prefers when it translates.
var EndpointFormats = []Format{FormatOpenAI, FormatOpenAIChat, FormatAnthropic, FormatGemini}

// ValidEndpoint reports whether f is one of EndpointFormats.
func (f Format) ValidEndpoint() bool { return f.Valid() || f == FormatOpenAIChat }

// Formats lists every format, in a fixed order.
var Formats = []Format{FormatOpenAI, FormatAnthropic, FormatGemini}

// Valid reports whether f is one of Formats.
func (f Format) Valid() bool {
	for _, g := range Formats {
		if f == g {
			return true
		}
	}
	return false
}
