package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"aether/internal/seed"
	"aether/internal/store"
)

// providers serves /providers: each provider with its endpoints and keys.
// One endpoint or key changes with PUT or DELETE under its provider.
func (a *API) providers() crud[seed.Provider] {
	return crud[seed.Provider]{
		a: a, path: "/providers", list: "providers", what: "Provider", exists: a.cfg.Store.ProviderExists,
		all:    func(f *seed.File) []seed.Provider { return f.Providers },
		nameOf: func(p *seed.Provider) *string { return &p.Name },
		doc:    func(p seed.Provider) *seed.File { return &seed.File{Providers: []seed.Provider{p}} }, prefix: "providers[0].",
		apply: func(ctx context.Context, tx *store.Tx, p seed.Provider) error {
			id, err := seed.ApplyProvider(ctx, tx, p)
			if err != nil {
				return err
			}
			for _, e := range p.Endpoints {
				if err := seed.ApplyEndpoint(ctx, tx, id, e); err != nil {
					return err
				}
			}
			for _, k := range p.Keys {
				if err := seed.ApplyProviderKey(ctx, tx, id, k); err != nil {
					return err
				}
			}
			return nil
		},
		del: a.cfg.Store.DeleteProvider,
	}
}

// nested applies an endpoint or key of an existing provider.
func (a *API) nested(w http.ResponseWriter, r *http.Request, p seed.Provider, apply func(tx *store.Tx, providerID int64) error) {
	if !validate(w, &seed.File{Providers: []seed.Provider{p}}, "providers[0].") {
		return
	}
	ok := a.write(w, r, func(tx *store.Tx) error {
		id, err := tx.ProviderID(r.Context(), p.Name)
		if errors.Is(err, store.ErrNotFound) {
			return &seed.ApplyError{Field: "provider", Message: fmt.Sprintf("provider %q does not exist", p.Name)}
		}
		if err != nil {
			return err
		}
		return apply(tx, id)
	})
	if ok {
		one(a, w, r, http.StatusOK, func(f *seed.File) (seed.Provider, bool) { return find(f.Providers, providerName, p.Name) })
	}
}

func providerName(p seed.Provider) string { return p.Name }

func (a *API) putEndpoint(w http.ResponseWriter, r *http.Request) {
	var e seed.Endpoint
	if !decode(w, r, &e) || !nameFromPath(w, &e.Name, chi.URLParam(r, "endpoint")) {
		return
	}
	p := seed.Provider{Name: chi.URLParam(r, "name"), Endpoints: []seed.Endpoint{e}}
	a.nested(w, r, p, func(tx *store.Tx, id int64) error { return seed.ApplyEndpoint(r.Context(), tx, id, e) })
}

func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteEndpoint(r.Context(), chi.URLParam(r, "name"), chi.URLParam(r, "endpoint")))
}

func (a *API) putProviderKey(w http.ResponseWriter, r *http.Request) {
	var k seed.ProviderKey
	if !decode(w, r, &k) || !nameFromPath(w, &k.Name, chi.URLParam(r, "key")) {
		return
	}
	p := seed.Provider{Name: chi.URLParam(r, "name"), Keys: []seed.ProviderKey{k}}
	a.nested(w, r, p, func(tx *store.Tx, id int64) error { return seed.ApplyProviderKey(r.Context(), tx, id, k) })
}

func (a *API) deleteProviderKey(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteProviderKey(r.Context(), chi.URLParam(r, "name"), chi.URLParam(r, "key")))
}
