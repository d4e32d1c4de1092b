package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/go-chi/chi/v5"

	"aether/internal/catalog"
	"aether/internal/llm"
	"aether/internal/routing"
)

// visibleModels lists the models this caller may use through format.
func (s *Server) visibleModels(r *http.Request, format llm.Format) []*catalog.Model {
	snap := s.catalog()
	var out []*catalog.Model
	for _, m := range snap.Models() {
		if s.usable(r, snap, m.Name, format) {
			out = append(out, m)
		}
	}
	return out
}

// visibleModel finds one model (by name or alias) the caller may use.
func (s *Server) visibleModel(r *http.Request, name string, format llm.Format) (*catalog.Model, bool) {
	snap := s.catalog()
	m, ok := snap.Model(name)
	if !ok || !s.usable(r, snap, name, format) {
		return nil, false
	}
	return m, true
}

// usable reports whether a request for model through format would be
// routed: the key's and the user's allowed models, providers and formats,
// and at least one active endpoint and key. It asks routing itself, so the
// lists never disagree with what a request gets. Open breakers are ignored:
// they pass.
func (s *Server) usable(r *http.Request, snap *catalog.Snapshot, model string, format llm.Format) bool {
	plan, err := routing.Select(snap, routing.Request{Caller: CallerFrom(r.Context()), Model: model, Format: format, Now: s.now()}, nil, routing.OrderProvider)
	return err == nil && len(plan.Candidates) > 0
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func openAIModel(m *catalog.Model) map[string]any {
	return map[string]any{"id": m.Name, "object": "model", "created": int64(1700000000), "owned_by": "aether"}
}

func anthropicModel(m *catalog.Model) map[string]any {
	return map[string]any{"type": "model", "id": m.Name, "display_name": m.Name, "created_at": time.Unix(1700000000, 0).UTC().Format(time.RFC3339)}
}

func geminiModelObj(m *catalog.Model) map[string]any {
	return map[string]any{
		"name": "models/" + m.Name, "displayName": m.Name, "version": "aether",
		"supportedGenerationMethods": []string{"generateContent", "streamGenerateContent", "countTokens"},
	}
}

// listModels answers GET /v1/models in the caller's API shape.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	d := dialectFor(r)
	models := s.visibleModels(r, d.Format())
	switch d.Format() {
	case llm.FormatAnthropic:
		data := make([]map[string]any, 0, len(models))
		for _, m := range models {
			data = append(data, anthropicModel(m))
		}
		resp := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
		if len(models) > 0 {
			resp["first_id"], resp["last_id"] = models[0].Name, models[len(models)-1].Name
		}
		writeJSON(w, resp)
	case llm.FormatGemini:
		s.geminiModels(w, r)
	default:
		data := make([]map[string]any, 0, len(models))
		for _, m := range models {
			data = append(data, openAIModel(m))
		}
		writeJSON(w, map[string]any{"object": "list", "data": data})
	}
}

// getModel answers GET /v1/models/{id}.
func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	d := dialectFor(r)
	id, ok := modelParam(w, r, d)
	if !ok {
		return
	}
	m, ok := s.visibleModel(r, id, d.Format())
	if !ok {
		refuse(w, d, llm.KindNotFound, reasonUnknownModel, fmt.Sprintf("The model %.64q does not exist.", id))
		return
	}
	switch d.Format() {
	case llm.FormatAnthropic:
		writeJSON(w, anthropicModel(m))
	case llm.FormatGemini:
		writeJSON(w, geminiModelObj(m))
	default:
		writeJSON(w, openAIModel(m))
	}
}

func (s *Server) geminiModels(w http.ResponseWriter, r *http.Request) {
	models := s.visibleModels(r, llm.FormatGemini)
	list := make([]map[string]any, 0, len(models))
	for _, m := range models {
		list = append(list, geminiModelObj(m))
	}
	writeJSON(w, map[string]any{"models": list})
}

func (s *Server) geminiModel(w http.ResponseWriter, r *http.Request) {
	id, ok := modelParam(w, r, dGemini)
	if !ok {
		return
	}
	id = strings.TrimPrefix(id, "models/")
	m, ok := s.visibleModel(r, id, llm.FormatGemini)
	if !ok {
		refuse(w, dGemini, llm.KindNotFound, reasonUnknownModel, fmt.Sprintf("models/%.64s is not found.", id))
		return
	}
	writeJSON(w, geminiModelObj(m))
}

// modelParam returns the {id} path segment decoded exactly once. Go leaves
// a path with an escape such as %2F in RawPath and chi then routes on the
// raw form, while %00 alone is decoded before routing; decoding here makes
// both the same (issue 8). A name with a control character is refused.
func modelParam(w http.ResponseWriter, r *http.Request, d llm.Dialect) (string, bool) {
	v := chi.URLParam(r, "id")
	if r.URL.RawPath != "" {
		u, err := url.PathUnescape(v)
		if err != nil {
			refuse(w, d, llm.KindInvalidRequest, reasonBadPath, "The model name in the path is not validly percent-encoded.")
			return "", false
		}
		v = u
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		refuse(w, d, llm.KindInvalidRequest, reasonBadPath, "The model name in the path contains a control character.")
		return "", false
	}
	return v, true
}
