package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
)

func (a *API) listBreakers(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Store.ListKeyHealth(r.Context())
	if err != nil {
		fail(w, llm.KindInternal, "Could not read breaker state.")
		return
	}
	type row struct {
		store.KeyHealth
		LocalState string `json:"local_state"`
	}
	out := make([]row, 0, len(list))
	for _, h := range list {
		out = append(out, row{KeyHealth: h, LocalState: string(a.cfg.Breakers.State(h.KeyID))})
	}
	writeJSON(w, http.StatusOK, map[string]any{"breakers": out})
}

func (a *API) resetBreaker(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "key_id"), 10, 64)
	if err != nil {
		fail(w, llm.KindInvalidRequest, "bad key ID", seed.FieldError{Field: "key_id", Message: "must be a provider key ID"})
		return
	}
	if err := a.cfg.Store.ResetBreaker(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		fail(w, llm.KindNotFound, "No provider key with that ID.")
		return
	} else if err != nil {
		fail(w, llm.KindInternal, "Could not reset the breaker.")
		return
	}
	a.cfg.Breakers.Reset(id)
	writeJSON(w, http.StatusOK, map[string]any{"key_id": id, "state": "closed"})
}
