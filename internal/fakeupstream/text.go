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

// appendText appends ExpectedText(chunks) without building a string.
func appendText(b []byte, chunks int) []byte {
	for i := range chunks {
		b = append(b, ChunkText(i)...)
	}
	return b
}

// appendTextJSON appends ExpectedText(chunks) as a JSON string literal.
func appendTextJSON(b []byte, chunks int) []byte {
	if chunks <= len(chunkWords) {
		return appendJSONString(b, defaultTexts[chunks])
	}
	return appendJSONString(b, ExpectedText(chunks))
}

// defaultTexts caches the short texts so common responses need no join.
var defaultTexts = func() [len(chunkWords) + 1]string {
	var t [len(chunkWords) + 1]string
	for i := range t {
		t[i] = ExpectedText(i)
	}
	return t
}()
