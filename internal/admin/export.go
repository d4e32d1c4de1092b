package admin

import (
	"net/http"

	"aether/internal/llm"
	"aether/internal/seed"
)

// export answers the whole configuration as the YAML AETHER_CONFIG takes,
// secrets as ${ENV} placeholders.
func (a *API) export(w http.ResponseWriter, r *http.Request) {
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		fail(w, llm.KindInternal, "Could not read the configuration.")
		return
	}
	b, err := seed.MarshalYAML(seed.FromConfig(cs, seed.Export))
	if err != nil {
		fail(w, llm.KindInternal, "Could not render the configuration.")
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Disposition", `attachment; filename="aether.yaml"`)
	_, _ = w.Write(b)
}
