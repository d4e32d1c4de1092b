package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"aether/internal/core"
	"aether/internal/jsonbody"
	"aether/internal/proxy"
	"aether/internal/upstream"
)

// readJSON reads a bounded JSON object body, answering the client itself
// (413 or 400) when it cannot.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, d core.Dialect) (*jsonbody.Object, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			d.WriteError(w, http.StatusRequestEntityTooLarge, core.KindTooLarge, "Request body is larger than the gateway accepts.")
			return nil, false
		}
		d.WriteError(w, http.StatusBadRequest, core.KindInvalidRequest, "Could not read the request body.")
		return nil, false
	}
	obj, err := jsonbody.Parse(body)
	if err != nil {
		d.WriteError(w, http.StatusBadRequest, core.KindInvalidRequest, "The request body is not a valid JSON object.")
		return nil, false
	}
	return obj, true
}

// inbound fills the parts of an Inbound every route shares.
func (s *Server) inbound(r *http.Request, d core.Dialect, op core.Operation) *proxy.Inbound {
	return &proxy.Inbound{
		RequestID:     RequestID(r.Context()),
		CorrelationID: CorrelationID(r.Context()),
		Caller:        CallerFrom(r.Context()),
		Dialect:       d,
		Operation:     op,
		RawQuery:      upstream.StripKeyParam(r.URL.RawQuery),
		Header:        r.Header,
		Received:      s.now(),
	}
}

// modelBody returns a Body func that rewrites only "model" (STYLE: the
// body is otherwise forwarded byte for byte).
func modelBody(obj *jsonbody.Object, requested string) func(string) ([]byte, bool) {
	return func(upstreamModel string) ([]byte, bool) {
		if upstreamModel == requested {
			return obj.Body, false
		}
		return obj.Set("model", jsonbody.Quote(upstreamModel)), false
	}
}

func fixedPath(p string) func(string) string { return func(string) string { return p } }

// bodyRoute handles the APIs that name the model in the body.
func (s *Server) bodyRoute(w http.ResponseWriter, r *http.Request, d core.Dialect, op core.Operation, path string) (*proxy.Inbound, *jsonbody.Object, bool) {
	obj, ok := s.readJSON(w, r, d)
	if !ok {
		return nil, nil, false
	}
	model, ok := obj.String("model")
	if !ok || model == "" {
		d.WriteError(w, http.StatusBadRequest, core.KindInvalidRequest, `The request has no "model".`)
		return nil, nil, false
	}
	in := s.inbound(r, d, op)
	in.Model = model
	in.Stream = op == core.OpGenerate && obj.Bool("stream")
	in.Body = modelBody(obj, model)
	in.Path = fixedPath(path)
	return in, obj, true
}

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) {
	in, obj, ok := s.bodyRoute(w, r, dOpenAI, core.OpGenerate, "/v1/chat/completions")
	if !ok {
		return
	}
	if in.Stream && !includesUsage(obj) {
		// Ask for the usage chunk the client did not request, so a stream
		// is never recorded with zero tokens; the proxy withholds it.
		in.Body = func(upstreamModel string) ([]byte, bool) {
			body, _ := modelBody(obj, in.Model)(upstreamModel)
			o, err := jsonbody.Parse(body)
			if err != nil {
				return body, false
			}
			opts := []byte(`{"include_usage":true}`)
			if raw := o.Raw("stream_options"); len(raw) > 0 && raw[0] == '{' {
				if so, err := jsonbody.Parse(raw); err == nil {
					opts = so.Set("include_usage", []byte("true"))
				}
			}
			return o.Set("stream_options", opts), true
		}
	}
	s.proxy.Serve(w, r, in)
}

func includesUsage(obj *jsonbody.Object) bool {
	raw := obj.Raw("stream_options")
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	so, err := jsonbody.Parse(raw)
	return err == nil && so.Bool("include_usage")
}

func (s *Server) openAIResponses(w http.ResponseWriter, r *http.Request) {
	if in, _, ok := s.bodyRoute(w, r, dOpenAI, core.OpGenerate, "/v1/responses"); ok {
		s.proxy.Serve(w, r, in)
	}
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	if in, _, ok := s.bodyRoute(w, r, dAnthropic, core.OpGenerate, "/v1/messages"); ok {
		s.proxy.Serve(w, r, in)
	}
}

func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	if in, _, ok := s.bodyRoute(w, r, dAnthropic, core.OpCountTokens, "/v1/messages/count_tokens"); ok {
		s.proxy.Serve(w, r, in)
	}
}

// geminiAction serves /v1beta/models/{model}:{action} and the /v1 alias.
func (s *Server) geminiAction(w http.ResponseWriter, r *http.Request) {
	target := chi.URLParam(r, "id")
	model, action, ok := strings.Cut(target, ":")
	model = strings.TrimPrefix(model, "models/")
	var op core.Operation
	stream := false
	switch action {
	case "generateContent":
		op = core.OpGenerate
	case "streamGenerateContent":
		op, stream = core.OpGenerate, true
	case "countTokens":
		op = core.OpCountTokens
	default:
		ok = false
	}
	if !ok || model == "" {
		dGemini.WriteError(w, http.StatusNotFound, core.KindNotFound, "Unknown method: use models/{model}:generateContent, :streamGenerateContent or :countTokens.")
		return
	}
	obj, ok := s.readJSON(w, r, dGemini)
	if !ok {
		return
	}
	version := "/v1beta"
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		version = "/v1"
	}
	in := s.inbound(r, dGemini, op)
	in.Model = model
	in.Stream = stream
	in.ArrayStream = stream && r.URL.Query().Get("alt") != "sse"
	in.Body = func(string) ([]byte, bool) { return obj.Body, false }
	in.Path = func(upstreamModel string) string { return version + "/models/" + upstreamModel + ":" + action }
	s.proxy.Serve(w, r, in)
}
