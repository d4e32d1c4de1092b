package fakeupstream

import "strings"

// chunkWords is the cycle of text deltas every format streams. It carries a
// quote, a newline and non-ASCII runes on purpose: a gateway that re-encodes
// deltas must escape them correctly for the client to see ExpectedText.
var chunkWords = [...]string{
	"Hello",
	` "fake"`,
	" wörld.",
	"\nLine",
	" two",
	" ✓",
	" more",
	" text.",
}

// ChunkText returns the i-th text delta (0-based) of every response.
func ChunkText(i int) string { return chunkWords[i%len(chunkWords)] }

// ExpectedText returns the exact text a client assembles from a response
// with the given number of chunks (Knobs.Chunks; 3 unless overridden), for
// streamed and non-streamed requests alike. With the default it is
// `Hello "fake" wörld.`.
func ExpectedText(chunks int) string {
	var b strings.Builder
	for i := range max(chunks, 0) {
		b.WriteString(ChunkText(i))
	}
	return b.String()
}

// appendTextJSON appends ExpectedText(chunks) as a JSON string literal
// without building the string.
func appendTextJSON(b []byte, chunks int) []byte {
	b = append(b, '"')
	for i := range chunks {
		b = appendEscaped(b, ChunkText(i))
	}
	return append(b, '"')
}
