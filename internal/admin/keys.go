package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"

	"github.com/go-chi/chi/v5"

	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
)

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewGatewayKey returns a fresh random key: "sk-aether-" and 32
// characters of base62 (190 bits).
func NewGatewayKey() string {
	b := make([]byte, 32)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(keyAlphabet))))
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b[i] = keyAlphabet[n.Int64()]
	}
	return "sk-aether-" + string(b)
}

// createGatewayKey makes a key for a user and returns it once: only its
// hash is stored.
func (a *API) createGatewayKey(w http.ResponseWriter, r *http.Request) {
	var k seed.GatewayKey
	if !decode(w, r, &k) {
		return
	}
	user := chi.URLParam(r, "name")
	if k.Key == "" {
		k.Key = NewGatewayKey()
	}
	if !validate(w, &seed.File{Users: []seed.User{{Name: user, Keys: []seed.GatewayKey{k}}}}, "users[0].keys[0].") {
		return
	}
	if ok, fine := a.exists(w, r, a.cfg.Store.APIKeyExists, k.Name); !fine {
		return
	} else if ok {
		fail(w, llm.KindConflict, fmt.Sprintf("Gateway key %q already exists.", k.Name))
		return
	}
	ok := a.write(w, r, func(tx *store.Tx) error {
		uid, err := tx.UserID(r.Context(), user)
		if errors.Is(err, store.ErrNotFound) {
			return &seed.ApplyError{Field: "user", Message: fmt.Sprintf("user %q does not exist", user)}
		}
		if err != nil {
			return err
		}
		return seed.ApplyGatewayKey(r.Context(), tx, uid, k)
	})
	if !ok {
		return
	}
	one(a, w, r, http.StatusCreated, func(f *seed.File) (map[string]any, bool) {
		for _, u := range f.Users {
			for _, g := range u.Keys {
				if g.Name == k.Name {
					return map[string]any{"key": k.Key, "gateway_key": g,
						"note": "This is the only time the key is shown: Aether keeps only its SHA-256."}, true
				}
			}
		}
		return nil, false
	})
}

func (a *API) listGatewayKeys(w http.ResponseWriter, r *http.Request) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	keys := []seed.GatewayKey{}
	for _, u := range f.Users {
		keys = append(keys, u.Keys...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// putGatewayKey changes a gateway key's settings; the key itself never
// changes (create a new one and delete the old to rotate).
func (a *API) putGatewayKey(w http.ResponseWriter, r *http.Request) {
	var k seed.GatewayKey
	if !decode(w, r, &k) || !nameFromPath(w, &k.Name, chi.URLParam(r, "name")) {
		return
	}
	if k.Key != "" {
		fail(w, llm.KindInvalidRequest, "A gateway key cannot be changed; create a new one.", seed.FieldError{Field: "key", Message: "not accepted here"})
		return
	}
	user := k.User
	if !validate(w, &seed.File{Users: []seed.User{{Name: "x", Keys: []seed.GatewayKey{k}}}}, "users[0].keys[0].") {
		return
	}
	ok := a.write(w, r, func(tx *store.Tx) error {
		var uid int64
		var err error
		if user != "" {
			if uid, err = tx.UserID(r.Context(), user); errors.Is(err, store.ErrNotFound) {
				return &seed.ApplyError{Field: "user", Message: fmt.Sprintf("user %q does not exist", user)}
			}
		} else {
			uid, err = a.ownerOf(r.Context(), k.Name)
			if errors.Is(err, store.ErrNotFound) {
				return &seed.ApplyError{Field: "name", Message: fmt.Sprintf("gateway key %q does not exist", k.Name)}
			}
		}
		if err != nil {
			return err
		}
		return seed.ApplyGatewayKey(r.Context(), tx, uid, k)
	})
	if ok {
		one(a, w, r, http.StatusOK, func(f *seed.File) (seed.GatewayKey, bool) {
			for _, u := range f.Users {
				if g, ok := find(u.Keys, func(g seed.GatewayKey) string { return g.Name }, k.Name); ok {
					return g, true
				}
			}
			return seed.GatewayKey{}, false
		})
	}
}

func (a *API) ownerOf(ctx context.Context, key string) (int64, error) {
	cs, err := a.cfg.Store.LoadConfig(ctx)
	if err != nil {
		return 0, err
	}
	for _, k := range cs.APIKeys {
		if k.Name == key {
			return k.UserID, nil
		}
	}
	return 0, store.ErrNotFound
}

func (a *API) deleteGatewayKey(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteAPIKey(r.Context(), chi.URLParam(r, "name")))
}
