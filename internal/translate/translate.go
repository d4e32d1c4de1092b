// Package translate serves a client of one API format from an upstream of
// another (issue 12). Each format's codec, in that format's own package,
// decodes into and encodes from the canonical model (internal/canon); this
// package pairs a client's codec with an upstream's, so any two registered
// formats translate both ways without a converter per pair.
//
// The proxy uses it per request:
//
//	body, req, err := translate.Request(client, upstream, clientBody, upstreamModel)
//	// err is a *canon.Error (400): answer it with translate.ErrorBody(client, err).
//	// Non-stream 2xx:  translate.Response(client, upstream, upstreamBody)
//	// Non-2xx:         status, body := translate.Error(client, upstream, status, upstreamBody)
//	// Stream:          s := translate.NewStream(client, upstream, req); s.Event(name, data) … s.End()
//
// Mapping tables and fields dropped on purpose: docs/translation.md.
package translate

import (
	"errors"
	"slices"

	"aether/internal/anthropic"
	"aether/internal/canon"
	"aether/internal/gemini"
	"aether/internal/openai"
)

// API names a wire API: a format and the endpoint family within it (OpenAI
// has two, Chat Completions and Responses).
type API string

// The APIs the translator knows.
const (
	AnthropicMessages API = "anthropic-messages"
	OpenAIChat        API = "openai-chat"
	OpenAIResponses   API = "openai-responses"
	Gemini            API = "gemini" // generateContent and streamGenerateContent
)

// Codec is one API's translator to and from the canonical model. Decode
// errors of a request are *canon.Error (status 400) so they can be answered
// in the client's format.
type Codec interface {
	DecodeRequest(body []byte) (*canon.Request, error)
	EncodeRequest(*canon.Request) ([]byte, error)
	DecodeResponse(body []byte) (*canon.Response, error)
	EncodeResponse(*canon.Response) ([]byte, error)
	// DecodeError reads an error body (status from the HTTP answer) or, with
	// status 0, an error event's data.
	DecodeError(status int, body []byte) *canon.Error
	// EncodeError writes an error body; the status is e.Status.
	EncodeError(e *canon.Error) []byte
	NewStreamDecoder() canon.StreamDecoder
	// NewStreamEncoder takes the client's decoded request, for options
	// such as whether usage goes into the stream.
	NewStreamEncoder(clientRequest *canon.Request) canon.StreamEncoder
}

// codecs is the registry. A new format's codec is one line here; every
// pair with the others is then built.
var codecs = map[API]Codec{
	AnthropicMessages: anthropic.Codec{},
	OpenAIChat:        openai.ChatCodec{},
	OpenAIResponses:   openai.ResponsesCodec{},
	Gemini:            gemini.Codec{},
}

// CodecFor gives an API's codec, or nil.
func CodecFor(api API) Codec { return codecs[api] }

// Pair is a client API served by an upstream API.
type Pair struct {
	Client, Upstream API
}

// Supported reports whether requests of the client API can be served by an
// upstream of the other API. A format served by itself is passthrough, not
// translation, and is not listed.
func Supported(client, upstream API) bool {
	return client != upstream && codecs[client] != nil && codecs[upstream] != nil
}

// Pairs lists every supported pair in a fixed order, for docs and
// configuration checks.
func Pairs() []Pair {
	apis := make([]API, 0, len(codecs))
	for a := range codecs {
		apis = append(apis, a)
	}
	slices.Sort(apis)
	var out []Pair
	for _, c := range apis {
		for _, u := range apis {
			if c != u {
				out = append(out, Pair{c, u})
			}
		}
	}
	return out
}

// ErrUnsupported is returned for a pair Supported rejects.
var ErrUnsupported = errors.New("translate: unsupported API pair")

func pair(client, upstream API) (Codec, Codec, error) {
	if !Supported(client, upstream) {
		return nil, nil, ErrUnsupported
	}
	return codecs[client], codecs[upstream], nil
}

// Request translates a client's request body into the upstream's, with
// upstreamModel as its model (the client's name when empty). It returns
// the decoded client request too, for NewStream. A body the client's codec
// cannot read is a *canon.Error with status 400.
func Request(client, upstream API, body []byte, upstreamModel string) ([]byte, *canon.Request, error) {
	c, u, err := pair(client, upstream)
	if err != nil {
		return nil, nil, err
	}
	req, err := c.DecodeRequest(body)
	if err != nil {
		return nil, nil, err
	}
	up := *req
	if upstreamModel != "" {
		up.Model = upstreamModel
	}
	out, err := u.EncodeRequest(&up)
	if err != nil {
		return nil, nil, err
	}
	return out, req, nil
}

// Response translates an upstream's 2xx non-stream body into the client's.
func Response(client, upstream API, body []byte) ([]byte, error) {
	c, u, err := pair(client, upstream)
	if err != nil {
		return nil, err
	}
	resp, err := u.DecodeResponse(body)
	if err != nil {
		return nil, err
	}
	return c.EncodeResponse(resp)
}

// Error re-shapes an upstream's error answer into the client's format. The
// status is kept.
func Error(client, upstream API, status int, body []byte) (int, []byte) {
	c, u, err := pair(client, upstream)
	if err != nil {
		return status, body
	}
	return status, c.EncodeError(u.DecodeError(status, body))
}

// ErrorBody writes a canonical error (such as Request's) in the client's
// format. The status to answer with is e.Status.
func ErrorBody(client API, e *canon.Error) []byte {
	c := codecs[client]
	if c == nil {
		return []byte(e.Message)
	}
	return c.EncodeError(e)
}

// Stream translates one upstream stream into the client's format, event
// by event.
type Stream struct {
	dec canon.StreamDecoder
	enc canon.StreamEncoder
}

// NewStream starts a stream translation; clientRequest is Request's second
// result (nil takes the client format's defaults). It returns nil for an
// unsupported pair.
func NewStream(client, upstream API, clientRequest *canon.Request) *Stream {
	c, u, err := pair(client, upstream)
	if err != nil {
		return nil
	}
	return &Stream{dec: u.NewStreamDecoder(), enc: c.NewStreamEncoder(clientRequest)}
}

// Event translates one upstream SSE event (name empty where the format
// has none) into the client's events, which may be none or several. An
// error means the upstream event was malformed: the caller ends the
// stream as cut.
func (s *Stream) Event(name string, data []byte) ([]canon.SSE, error) {
	evs, err := s.dec.Decode(name, data)
	if err != nil {
		return nil, err
	}
	return s.encode(evs), nil
}

// End is called when the upstream closed the stream cleanly; it gives the
// client's closing events when the upstream's format counts that close as
// a whole stream, and none otherwise (the stream is truncated).
func (s *Stream) End() []canon.SSE { return s.encode(s.dec.End()) }

func (s *Stream) encode(evs []canon.Event) []canon.SSE {
	var out []canon.SSE
	for _, ev := range evs {
		out = append(out, s.enc.Encode(ev)...)
	}
	return out
}
