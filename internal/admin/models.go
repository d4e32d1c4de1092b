package admin

import (
	"context"

	"aether/internal/seed"
	"aether/internal/store"
)

// models serves /models: public model names with their aliases and routes.
func (a *API) models() crud[seed.Model] {
	return crud[seed.Model]{
		a: a, path: "/models", list: "models", what: "Model or alias", exists: a.cfg.Store.ModelExists,
		all:    func(f *seed.File) []seed.Model { return f.Models },
		nameOf: func(m *seed.Model) *string { return &m.Name },
		doc:    func(m seed.Model) *seed.File { return &seed.File{Models: []seed.Model{m}} }, prefix: "models[0].",
		apply: func(ctx context.Context, tx *store.Tx, m seed.Model) error {
			_, err := seed.ApplyModel(ctx, tx, m)
			return err
		},
		del: a.cfg.Store.DeleteModel,
	}
}
