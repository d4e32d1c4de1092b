package admin

import (
	"io"
	"net/http"

	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/seed"
	"aether/internal/store"
)

func (a *API) listPrices(w http.ResponseWriter, r *http.Request) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"prices": nonNil(f.Prices)})
}

func (a *API) putPrice(w http.ResponseWriter, r *http.Request) {
	var p seed.Price
	if !decode(w, r, &p) || !nameFromPath(w, &p.Model, pathParam(r, "model")) {
		return
	}
	if q := r.URL.Query().Get("provider"); q != "" {
		if p.Provider != "" && p.Provider != q {
			fail(w, llm.KindInvalidRequest, "provider differs from ?provider=", seed.FieldError{Field: "provider", Message: "must match ?provider="})
			return
		}
		p.Provider = q
	}
	if !validate(w, &seed.File{Prices: []seed.Price{p}}, "prices[0].") {
		return
	}
	if a.write(w, r, func(tx *store.Tx) error { return seed.ApplyPrice(r.Context(), tx, p) }) {
		one(a, w, r, http.StatusOK, func(f *seed.File) (seed.Price, bool) {
			for _, q := range f.Prices {
				if q.Model == p.Model && q.Provider == p.Provider {
					return q, true
				}
			}
			return seed.Price{}, false
		})
	}
}

// importPrices reads a model_prices_and_context_window.json document
// (LiteLLM's format) and sets the default price of every configured model
// it names: by model name or alias, with or without a "provider/" prefix.
// Models that already have a price keep it unless ?overwrite=true.
func (a *API) importPrices(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		fail(w, llm.KindInvalidRequest, "Could not read the body.")
		return
	}
	table, err := pricing.ParseLiteLLM(body)
	if err != nil {
		fail(w, llm.KindInvalidRequest, err.Error())
		return
	}
	overwrite := r.URL.Query().Get("overwrite") == "true"
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		fail(w, llm.KindInternal, "Could not read the configuration.")
		return
	}
	priced := map[int64]bool{}
	for _, p := range cs.Prices {
		if p.ProviderID == nil {
			priced[p.ModelID] = true
		}
	}
	imported, kept := []string{}, []string{}
	var unknown []string
	ok := a.write(w, r, func(tx *store.Tx) error {
		for _, m := range cs.Models {
			p, found := table.Lookup(append([]string{m.Name}, m.Aliases...)...)
			if !found {
				unknown = append(unknown, m.Name)
				continue
			}
			if priced[m.ID] && !overwrite {
				kept = append(kept, m.Name)
				continue
			}
			sp := store.Price{ModelID: m.ID, Input: p.Input, Output: p.Output, CacheRead: p.CacheRead, CacheWrite5m: p.CacheWrite5m,
				CacheWrite1h: p.CacheWrite1h, LongInput: p.LongInput, LongOutput: p.LongOutput, LongCacheRead: p.LongCacheRead,
				LongCacheWrite5m: p.LongCacheWrite5m, LongCacheWrite1h: p.LongCacheWrite1h, PerRequest: p.PerRequest, Source: "import: " + p.Source}
			if p.LongThreshold > 0 {
				lt := p.LongThreshold
				sp.LongThreshold = &lt
			}
			if _, err := tx.UpsertPrice(r.Context(), sp); err != nil {
				return err
			}
			imported = append(imported, m.Name)
		}
		return nil
	})
	if ok {
		writeJSON(w, http.StatusOK, map[string]any{"imported": imported, "kept_existing": kept, "not_in_file": nonNil(unknown), "models_in_file": len(table)})
	}
}

func (a *API) deletePrice(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeletePrice(r.Context(), pathParam(r, "model"), r.URL.Query().Get("provider")))
}
