package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/catalog"
	"aether/internal/core"
)

// visibleModels lists the models this caller may use through format.
func (s *Server) visibleModels(r *http.Request, format core.Format) []*catalog.Model {
	c := CallerFrom(r.Context())
	var out []*catalog.Model
	for _, m := range s.catalog().Models() {
		if !catalog.Allowed(c.Key.AllowedModels, m.Name) || !catalog.Allowed(c.User.AllowedModels, m.Name) {
			continue
		}
		for _, rt := range m.Routes {
			if ep := rt.Provider.Endpoints[format]; ep != nil && ep.Active && rt.Provider.Active {
				out = append(out, m)
				break
			}
		}
	}
	return out
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
	case core.FormatAnthropic:
		data := make([]map[string]any, 0, len(models))
		for _, m := range models {
			data = append(data, anthropicModel(m))
		}
		resp := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
		if len(models) > 0 {
			resp["first_id"], resp["last_id"] = models[0].Name, models[len(models)-1].Name
		}
		writeJSON(w, resp)
	case core.FormatGemini:
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
	id := chi.URLParam(r, "id")
	for _, m := range s.visibleModels(r, d.Format()) {
		if m.Name != id {
			continue
		}
		switch d.Format() {
		case core.FormatAnthropic:
			writeJSON(w, anthropicModel(m))
		case core.FormatGemini:
			writeJSON(w, geminiModelObj(m))
		default:
			writeJSON(w, openAIModel(m))
		}
		return
	}
	d.WriteError(w, http.StatusNotFound, core.KindNotFound, "The model "+id+" does not exist.")
}

func (s *Server) geminiModels(w http.ResponseWriter, r *http.Request) {
	models := s.visibleModels(r, core.FormatGemini)
	list := make([]map[string]any, 0, len(models))
	for _, m := range models {
		list = append(list, geminiModelObj(m))
	}
	writeJSON(w, map[string]any{"models": list})
}

func (s *Server) geminiModel(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(chi.URLParam(r, "id"), "models/")
	for _, m := range s.visibleModels(r, core.FormatGemini) {
		if m.Name == id {
			writeJSON(w, geminiModelObj(m))
			return
		}
	}
	dGemini.WriteError(w, http.StatusNotFound, core.KindNotFound, "models/"+id+" is not found.")
}
