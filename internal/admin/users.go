package admin

import (
	"context"

	"aether/internal/seed"
	"aether/internal/store"
)

// users serves /users. A user's gateway keys are made by
// POST /users/{name}/keys (keys.go), never in the user's body.
func (a *API) users() crud[seed.User] {
	return crud[seed.User]{
		a: a, path: "/users", list: "users", what: "User", exists: a.cfg.Store.UserExists,
		all:    func(f *seed.File) []seed.User { return f.Users },
		nameOf: func(u *seed.User) *string { return &u.Name },
		doc:    func(u seed.User) *seed.File { return &seed.File{Users: []seed.User{u}} }, prefix: "users[0].",
		refuse: func(u seed.User) *seed.FieldError {
			if len(u.Keys) > 0 {
				return &seed.FieldError{Field: "keys", Message: "not accepted here: create gateway keys with POST /admin/v1/users/{name}/keys"}
			}
			return nil
		},
		apply: func(ctx context.Context, tx *store.Tx, u seed.User) error {
			_, err := seed.ApplyUser(ctx, tx, u)
			return err
		},
		del: a.cfg.Store.DeleteUser,
	}
}
