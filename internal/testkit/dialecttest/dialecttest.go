// Package dialecttest replays recorded streams through a llm.Dialect, for
// the usage and error tests of each API format package.
package dialecttest

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"aether/internal/llm"
	"aether/internal/sse"
)

// Result is what a replay observed.
type Result struct {
	Usage     llm.Usage
	Complete  bool
	Failed    bool
	Forwarded []byte // the bytes a client would have received
	FirstErr  bool   // the first data event was an error
}

// Replay feeds the stream in file (SSE, or a JSON array when the name ends
// in .json) through a fresh observer of d.
func Replay(t testing.TB, d llm.Dialect, file string, injected bool) Result {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return ReplayBytes(d, b, strings.HasSuffix(file, ".json"), injected)
}

type reader interface{ Next() (sse.Event, error) }

// ReplayBytes is Replay on bytes already in memory.
func ReplayBytes(d llm.Dialect, b []byte, array, injected bool) Result {
	var rd reader = sse.NewReader(bytes.NewReader(b))
	if array {
		rd = sse.NewArrayReader(bytes.NewReader(b))
	}
	obs := d.NewStream(injected)
	var res Result
	var out bytes.Buffer
	first := true
	for {
		ev, err := rd.Next()
		if len(ev.Data) > 0 && first {
			res.FirstErr = obs.IsError(ev.Name, ev.Data)
			first = false
		}
		if len(ev.Raw) > 0 && obs.Observe(ev.Name, ev.Data) {
			out.Write(ev.Raw)
		}
		if err != nil {
			break // io.EOF, or a stream cut short: usage seen so far stands
		}
	}
	res.Usage, res.Complete, res.Failed, res.Forwarded = obs.Usage(), obs.Complete(), obs.Failed(), out.Bytes()
	return res
}

// FuzzObserve checks a dialect's stream observer and body parser on any
// input: no panic, no negative or impossible token counts.
func FuzzObserve(f *testing.F, d llm.Dialect, seeds ...string) {
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, array := range []bool{false, true} {
			r := ReplayBytes(d, b, array, true)
			check(t, r.Usage)
		}
		check(t, d.BodyUsage(b))
	})
}

func check(t *testing.T, u llm.Usage) {
	t.Helper()
	if u.InputTokens < 0 || u.CacheReadTokens < 0 || u.CacheWrite5mTokens < 0 || u.CacheWrite1hTokens < 0 || u.OutputTokens < 0 || u.ReasoningTokens < 0 {
		t.Fatalf("negative bucket in %+v", u)
	}
}
