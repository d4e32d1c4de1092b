package httpapi

import (
	"net/http"
	"strings"

	"aether/internal/jsonbody"
	"aether/internal/llm"
	"aether/internal/proxy"
	"aether/internal/translate"
	"aether/internal/upstream"
)

// inbound fills the parts of an Inbound every route shares.
func (s *Server) inbound(r *http.Request, d llm.Dialect, op llm.Operation) *proxy.Inbound {
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

func fixedPath(p string) func(string) string { return func(string) string { return p } }

// bodyRoute handles the APIs that name the model in the body. The caller
// releases held body bytes once the request is over.
func (s *Server) bodyRoute(w http.ResponseWriter, r *http.Request, d llm.Dialect, op llm.Operation, path string) (in *proxy.Inbound, ub *upstreamBody, held int64, ok bool) {
	obj, held, ok := s.readJSON(w, r, d)
	if !ok {
		return nil, nil, 0, false
	}
	model, ok := obj.String("model")
	if !ok || model == "" {
		s.bodies.release(held)
		refuse(w, d, llm.KindInvalidRequest, reasonMissingModel, `The request has no "model".`)
		return nil, nil, 0, false
	}
	in = s.inbound(r, d, op)
	in.Model = model
	in.Stream = op == llm.OpGenerate && obj.Bool("stream")
	ub = &upstreamBody{obj: obj, model: model}
	in.Body = ub.forModel
	in.Path = fixedPath(path)
	return in, ub, held, true
}

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) {
	in, ub, held, ok := s.bodyRoute(w, r, dOpenAI, llm.OpGenerate, "/v1/chat/completions")
	if !ok {
		return
	}
	defer s.bodies.release(held)
	if in.Stream && !includesUsage(ub.obj) {
		// Ask for the usage chunk the client did not request, so a stream
		// is never recorded with zero tokens; the proxy withholds it.
		opts := []byte(`{"include_usage":true}`)
		if raw := ub.obj.Raw("stream_options"); len(raw) > 0 && raw[0] == '{' {
			if so, err := jsonbody.Parse(raw); err == nil {
				opts = so.Set("include_usage", []byte("true"))
			}
		}
		ub.obj.Edit("stream_options", opts)
		ub.injected = true
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
	in, _, held, ok := s.bodyRoute(w, r, dOpenAI, llm.OpGenerate, "/v1/responses")
	if !ok {
		return
	}
	defer s.bodies.release(held)
	in.API = translate.OpenAIResponses
	s.proxy.Serve(w, r, in)
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	s.serveBodyRoute(w, r, dAnthropic, llm.OpGenerate, "/v1/messages")
}

func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	s.serveBodyRoute(w, r, dAnthropic, llm.OpCountTokens, "/v1/messages/count_tokens")
}

func (s *Server) serveBodyRoute(w http.ResponseWriter, r *http.Request, d llm.Dialect, op llm.Operation, path string) {
	in, _, held, ok := s.bodyRoute(w, r, d, op, path)
	if !ok {
		return
	}
	defer s.bodies.release(held)
	s.proxy.Serve(w, r, in)
}

// geminiAction serves /v1beta/models/{model}:{action} and the /v1 alias.
func (s *Server) geminiAction(w http.ResponseWriter, r *http.Request) {
	target, ok := modelParam(w, r, dGemini)
	if !ok {
		return
	}
	model, action, ok := strings.Cut(target, ":")
	model = strings.TrimPrefix(model, "models/")
	var op llm.Operation
	stream := false
	switch action {
	case "generateContent":
		op = llm.OpGenerate
	case "streamGenerateContent":
		op, stream = llm.OpGenerate, true
	case "countTokens":
		op = llm.OpCountTokens
	default:
		ok = false
	}
	if !ok || model == "" {
		refuse(w, dGemini, llm.KindNotFound, reasonNotFound, "Unknown method: use models/{model}:generateContent, :streamGenerateContent or :countTokens.")
		return
	}
	obj, held, ok := s.readJSON(w, r, dGemini)
	if !ok {
		return
	}
	defer s.bodies.release(held)
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
