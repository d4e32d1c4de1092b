package llm

// Format is a client-facing and upstream API wire format.
type Format string

// The API formats Aether speaks. A request is served only by endpoints of
// its own format (same-format passthrough).
const (
	FormatOpenAI    Format = "openai"
	FormatAnthropic Format = "anthropic"
	FormatGemini    Format = "gemini"
)

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
