package anthropic

import (
	"bytes"
	"encoding/json"

	"aether/internal/llm"
)

// usageJSON is Anthropic's usage object. input_tokens excludes cache reads
// and writes; cache writes are split by TTL in the nested cache_creation
// object when the API reports it (docs/wire-formats.md, "Usage semantics
// per provider").
type usageJSON struct {
	InputTokens              *int64             `json:"input_tokens"`
	OutputTokens             *int64             `json:"output_tokens"`
	CacheCreationInputTokens *int64             `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64             `json:"cache_read_input_tokens"`
	CacheCreation            *cacheCreationJSON `json:"cache_creation"`
}

type cacheCreationJSON struct {
	Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
}

// merge applies the fields present in u over an earlier usage: message_delta
// repeats or updates only some of them.
func (u *usageJSON) merge(into *llm.Usage) {
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&into.InputTokens, u.InputTokens)
	set(&into.OutputTokens, u.OutputTokens)
	set(&into.CacheReadTokens, u.CacheReadInputTokens)
	switch {
	case u.CacheCreation != nil && (u.CacheCreation.Ephemeral5m+u.CacheCreation.Ephemeral1h > 0 || u.CacheCreationInputTokens == nil):
		into.CacheWrite5mTokens, into.CacheWrite1hTokens = u.CacheCreation.Ephemeral5m, u.CacheCreation.Ephemeral1h
	case u.CacheCreationInputTokens != nil && *u.CacheCreationInputTokens != into.CacheWrite5mTokens+into.CacheWrite1hTokens:
		// Only the total is known (older API versions, or a message_delta
		// repeating the total without the split): a total that matches the
		// split already seen keeps it; otherwise every write counts as a
		// 5-minute write, the default TTL.
		into.CacheWrite5mTokens, into.CacheWrite1hTokens = *u.CacheCreationInputTokens, 0
	}
	into.Known = true
}

// BodyUsage implements llm.Dialect.
func (Dialect) BodyUsage(body []byte) llm.Usage {
	var v struct {
		Usage *usageJSON `json:"usage"`
	}
	var u llm.Usage
	if json.Unmarshal(body, &v) == nil && v.Usage != nil {
		v.Usage.merge(&u)
	}
	return u
}

// UsageMember implements llm.Dialect.
func (Dialect) UsageMember() string { return "usage" }

type stream struct {
	usage    llm.Usage
	complete bool // message_stop came
	failed   bool // an error event came
}

// NewStream implements llm.Dialect. Anthropic always reports usage in its
// stream, so nothing is ever injected.
func (Dialect) NewStream(bool) llm.StreamObserver { return &stream{} }

func (s *stream) Observe(name string, data []byte) bool {
	switch name {
	case "message_start":
		var v struct {
			Message struct {
				Usage *usageJSON `json:"usage"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &v) == nil && v.Message.Usage != nil {
			v.Message.Usage.merge(&s.usage)
		}
	case "message_delta":
		var v struct {
			Usage *usageJSON `json:"usage"`
		}
		if json.Unmarshal(data, &v) == nil && v.Usage != nil {
			v.Usage.merge(&s.usage)
		}
	case "message_stop":
		s.complete = true
	case "error":
		// After the first event (IsError catches one in first place):
		// the stream failed, though it may still close cleanly.
		s.failed = true
	case "":
		s.failed = s.failed || s.IsError(name, data)
	}
	return true
}

func (s *stream) IsError(name string, data []byte) bool {
	return name == "error" || (name == "" && bytes.Contains(data, []byte(`"type":"error"`)))
}

func (s *stream) Usage() llm.Usage { return s.usage }
func (s *stream) Complete() bool   { return s.complete }
func (s *stream) Failed() bool     { return s.failed }
