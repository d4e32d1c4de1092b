package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/breaker"
	"aether/internal/llm"
	"aether/internal/pricing"
	"aether/internal/seed"
	"aether/internal/store"
)

// AdminConfig configures the admin API (/admin/v1). It is mounted only
// when Token is set.
type AdminConfig struct {
	Token         string
	Store         *store.Store
	Breakers      *breaker.Set
	TemporalUIURL string
	Namespace     string
	// Refresh reloads this replica's snapshot after a change, so the
	// replica that took the change serves it at once (others within
	// AETHER_SNAPSHOT_REFRESH).
	Refresh func(context.Context) error
}

type admin struct{ cfg AdminConfig }

// adminError is the admin API's error shape. Its type is an llm.ErrorKind
// and its status that kind's (llm.ErrorKind.Status), as in the client APIs.
type adminError struct {
	Error struct {
		Type    llm.ErrorKind     `json:"type"`
		Message string            `json:"message"`
		Fields  []seed.FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

func adminFail(w http.ResponseWriter, kind llm.ErrorKind, msg string, fields ...seed.FieldError) {
	if kind == llm.KindAuthentication {
		note(w, reasonAuth)
	} else {
		note(w, string(kind)) // a fixed word: invalid_request, conflict, not_found, internal, disabled
	}
	var e adminError
	e.Error.Type, e.Error.Message, e.Error.Fields = kind, msg, fields
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(kind.Status())
	_ = json.NewEncoder(w).Encode(e)
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// routes mounts the admin API.
func (a *admin) routes(r chi.Router) {
	r.Use(a.auth)
	crud[seed.Provider]{
		path: "/providers", list: "providers", what: "Provider", exists: a.cfg.Store.ProviderExists,
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
	}.mount(r, a)
	r.Put("/providers/{name}/endpoints/{endpoint}", a.putEndpoint)
	r.Delete("/providers/{name}/endpoints/{endpoint}", a.deleteEndpoint)
	r.Put("/providers/{name}/keys/{key}", a.putProviderKey)
	r.Delete("/providers/{name}/keys/{key}", a.deleteProviderKey)
	crud[seed.Model]{
		path: "/models", list: "models", what: "Model or alias", exists: a.cfg.Store.ModelExists,
		all:    func(f *seed.File) []seed.Model { return f.Models },
		nameOf: func(m *seed.Model) *string { return &m.Name },
		doc:    func(m seed.Model) *seed.File { return &seed.File{Models: []seed.Model{m}} }, prefix: "models[0].",
		apply: func(ctx context.Context, tx *store.Tx, m seed.Model) error {
			_, err := seed.ApplyModel(ctx, tx, m)
			return err
		},
		del: a.cfg.Store.DeleteModel,
	}.mount(r, a)
	r.Get("/prices", a.listPrices)
	r.Post("/prices/import", a.importPrices)
	r.Put("/prices/{model}", a.putPrice)
	r.Delete("/prices/{model}", a.deletePrice)
	crud[seed.User]{
		path: "/users", list: "users", what: "User", exists: a.cfg.Store.UserExists,
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
	}.mount(r, a)
	r.Post("/users/{name}/keys", a.createGatewayKey)
	r.Get("/keys", a.listGatewayKeys)
	r.Put("/keys/{name}", a.putGatewayKey)
	r.Delete("/keys/{name}", a.deleteGatewayKey)
	r.Get("/config/export", a.export)
	r.Get("/requests", a.listRequests)
	r.Get("/requests/aggregate", a.aggregate)
	r.Get("/requests/{id}", a.getRequest)
	r.Get("/breakers", a.listBreakers)
	r.Post("/breakers/{key_id}/reset", a.resetBreaker)
}

func (a *admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
			adminFail(w, llm.KindAuthentication, "Missing admin token: send Authorization: Bearer $AETHER_ADMIN_TOKEN.")
			return
		}
		if !ConstantTimeEqual(strings.TrimSpace(h[7:]), a.cfg.Token) {
			adminFail(w, llm.KindAuthentication, "Invalid admin token.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// decode reads a JSON body into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := ""
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			field = ute.Field
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "json: unknown field ") {
			field = strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
			msg = "unknown field"
		}
		if field != "" {
			adminFail(w, llm.KindInvalidRequest, "invalid field", seed.FieldError{Field: field, Message: msg})
		} else {
			adminFail(w, llm.KindInvalidRequest, "The body is not valid JSON: "+msg)
		}
		return false
	}
	return true
}

// validate checks a one-entity document with the configuration file's rules.
func validate(w http.ResponseWriter, f *seed.File, prefix string) bool {
	errs := seed.Validate(f)
	if len(errs) == 0 {
		return true
	}
	for i := range errs {
		errs[i].Field = strings.TrimPrefix(errs[i].Field, prefix)
	}
	adminFail(w, llm.KindInvalidRequest, "The request has invalid fields.", errs...)
	return false
}

// write runs f in one transaction and answers the error, if any; a
// successful change reloads this replica's snapshot.
func (a *admin) write(w http.ResponseWriter, r *http.Request, f func(tx *store.Tx) error) bool {
	err := a.cfg.Store.InTx(r.Context(), f)
	var ae *seed.ApplyError
	switch {
	case err == nil:
		if a.cfg.Refresh != nil {
			_ = a.cfg.Refresh(r.Context())
		}
		return true
	case errors.As(err, &ae):
		adminFail(w, llm.KindInvalidRequest, "The request has invalid fields.", seed.FieldError{Field: ae.Field, Message: ae.Message})
	case errors.Is(err, store.ErrConflict):
		adminFail(w, llm.KindConflict, err.Error())
	case errors.Is(err, store.ErrInvalid):
		adminFail(w, llm.KindInvalidRequest, err.Error())
	default:
		adminFail(w, llm.KindInternal, "The change could not be saved.")
	}
	return false
}

func (a *admin) deleted(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case err == nil:
		if a.cfg.Refresh != nil {
			_ = a.cfg.Refresh(r.Context())
		}
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, store.ErrNotFound):
		adminFail(w, llm.KindNotFound, "Nothing by that name.")
	default:
		adminFail(w, llm.KindInternal, "The delete failed.")
	}
}

// view loads the configuration as the admin API shows it, answering the
// client itself when it cannot.
func (a *admin) view(w http.ResponseWriter, r *http.Request) (*seed.File, bool) {
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read the configuration.")
		return nil, false
	}
	return seed.FromConfig(cs, seed.View), true
}

// one answers a single entity found by name in the current view.
func one[T any](a *admin, w http.ResponseWriter, r *http.Request, status int, pick func(*seed.File) (T, bool)) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	v, ok := pick(f)
	if !ok {
		adminFail(w, llm.KindNotFound, "Nothing by that name.")
		return
	}
	adminJSON(w, status, v)
}

func find[T any](list []T, name func(T) string, want string) (T, bool) {
	for _, v := range list {
		if name(v) == want {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func providerName(p seed.Provider) string { return p.Name }

// crud serves list, get, create, replace and delete of one kind of named
// configuration entity, validated by the configuration file's rules and
// written by the same code that applies the file.
type crud[T any] struct {
	path, list, what string
	exists           func(context.Context, string) (bool, error)
	all              func(*seed.File) []T
	nameOf           func(*T) *string
	doc              func(T) *seed.File // the entity as a document, for Validate
	prefix           string             // its path in that document, trimmed from field names
	refuse           func(T) *seed.FieldError
	apply            func(context.Context, *store.Tx, T) error
	del              func(context.Context, string) error
}

func (c crud[T]) mount(r chi.Router, a *admin) {
	r.Get(c.path, func(w http.ResponseWriter, r *http.Request) {
		f, ok := a.view(w, r)
		if !ok {
			return
		}
		adminJSON(w, http.StatusOK, map[string]any{c.list: nonNil(c.all(f))})
	})
	r.Get(c.path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		c.answer(a, w, r, http.StatusOK, chi.URLParam(r, "name"))
	})
	r.Post(c.path, func(w http.ResponseWriter, r *http.Request) {
		var v T
		if !decode(w, r, &v) {
			return
		}
		if ok, fine := a.exists(w, r, c.exists, *c.nameOf(&v)); !fine {
			return
		} else if ok {
			adminFail(w, llm.KindConflict, fmt.Sprintf("%s %q already exists; PUT %s/%s changes it.", c.what, *c.nameOf(&v), c.path, *c.nameOf(&v)))
			return
		}
		c.save(a, w, r, v, http.StatusCreated)
	})
	r.Put(c.path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		var v T
		if !decode(w, r, &v) || !nameFromPath(w, c.nameOf(&v), chi.URLParam(r, "name")) {
			return
		}
		c.save(a, w, r, v, http.StatusOK)
	})
	r.Delete(c.path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		a.deleted(w, r, c.del(r.Context(), chi.URLParam(r, "name")))
	})
}

func (c crud[T]) answer(a *admin, w http.ResponseWriter, r *http.Request, status int, name string) {
	one(a, w, r, status, func(f *seed.File) (T, bool) {
		return find(c.all(f), func(v T) string { return *c.nameOf(&v) }, name)
	})
}

func (c crud[T]) save(a *admin, w http.ResponseWriter, r *http.Request, v T, status int) {
	if c.refuse != nil {
		if fe := c.refuse(v); fe != nil {
			adminFail(w, llm.KindInvalidRequest, "The request has invalid fields.", *fe)
			return
		}
	}
	if !validate(w, c.doc(v), c.prefix) {
		return
	}
	if a.write(w, r, func(tx *store.Tx) error { return c.apply(r.Context(), tx, v) }) {
		c.answer(a, w, r, status, *c.nameOf(&v))
	}
}

// nameFromPath fills an empty name from the URL and refuses a mismatch.
func nameFromPath(w http.ResponseWriter, name *string, path string) bool {
	if *name == "" {
		*name = path
	}
	if *name != path {
		adminFail(w, llm.KindInvalidRequest, "The body's name differs from the URL's.", seed.FieldError{Field: "name", Message: "must match the URL"})
		return false
	}
	return true
}

func (a *admin) exists(w http.ResponseWriter, r *http.Request, exists func(context.Context, string) (bool, error), name string) (bool, bool) {
	ok, err := exists(r.Context(), name)
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read the configuration.")
		return false, false
	}
	return ok, true
}

// Providers.

// nested applies an endpoint or key of an existing provider.
func (a *admin) nested(w http.ResponseWriter, r *http.Request, p seed.Provider, apply func(tx *store.Tx, providerID int64) error) {
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

func (a *admin) putEndpoint(w http.ResponseWriter, r *http.Request) {
	var e seed.Endpoint
	if !decode(w, r, &e) || !nameFromPath(w, &e.Name, chi.URLParam(r, "endpoint")) {
		return
	}
	p := seed.Provider{Name: chi.URLParam(r, "name"), Endpoints: []seed.Endpoint{e}}
	a.nested(w, r, p, func(tx *store.Tx, id int64) error { return seed.ApplyEndpoint(r.Context(), tx, id, e) })
}

func (a *admin) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteEndpoint(r.Context(), chi.URLParam(r, "name"), chi.URLParam(r, "endpoint")))
}

func (a *admin) putProviderKey(w http.ResponseWriter, r *http.Request) {
	var k seed.ProviderKey
	if !decode(w, r, &k) || !nameFromPath(w, &k.Name, chi.URLParam(r, "key")) {
		return
	}
	p := seed.Provider{Name: chi.URLParam(r, "name"), Keys: []seed.ProviderKey{k}}
	a.nested(w, r, p, func(tx *store.Tx, id int64) error { return seed.ApplyProviderKey(r.Context(), tx, id, k) })
}

func (a *admin) deleteProviderKey(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteProviderKey(r.Context(), chi.URLParam(r, "name"), chi.URLParam(r, "key")))
}

// Models and prices.

func (a *admin) listPrices(w http.ResponseWriter, r *http.Request) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{"prices": nonNil(f.Prices)})
}

func (a *admin) putPrice(w http.ResponseWriter, r *http.Request) {
	var p seed.Price
	if !decode(w, r, &p) || !nameFromPath(w, &p.Model, chi.URLParam(r, "model")) {
		return
	}
	if q := r.URL.Query().Get("provider"); q != "" {
		if p.Provider != "" && p.Provider != q {
			adminFail(w, llm.KindInvalidRequest, "provider differs from ?provider=", seed.FieldError{Field: "provider", Message: "must match ?provider="})
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
func (a *admin) importPrices(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		adminFail(w, llm.KindInvalidRequest, "Could not read the body.")
		return
	}
	table, err := pricing.ParseLiteLLM(body)
	if err != nil {
		adminFail(w, llm.KindInvalidRequest, err.Error())
		return
	}
	overwrite := r.URL.Query().Get("overwrite") == "true"
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read the configuration.")
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
		adminJSON(w, http.StatusOK, map[string]any{"imported": imported, "kept_existing": kept, "not_in_file": nonNil(unknown), "models_in_file": len(table)})
	}
}

func (a *admin) deletePrice(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeletePrice(r.Context(), chi.URLParam(r, "model"), r.URL.Query().Get("provider")))
}

// Users and gateway keys.

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
func (a *admin) createGatewayKey(w http.ResponseWriter, r *http.Request) {
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
		adminFail(w, llm.KindConflict, fmt.Sprintf("Gateway key %q already exists.", k.Name))
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

func (a *admin) listGatewayKeys(w http.ResponseWriter, r *http.Request) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	keys := []seed.GatewayKey{}
	for _, u := range f.Users {
		keys = append(keys, u.Keys...)
	}
	adminJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// putGatewayKey changes a gateway key's settings; the key itself never
// changes (create a new one and delete the old to rotate).
func (a *admin) putGatewayKey(w http.ResponseWriter, r *http.Request) {
	var k seed.GatewayKey
	if !decode(w, r, &k) || !nameFromPath(w, &k.Name, chi.URLParam(r, "name")) {
		return
	}
	if k.Key != "" {
		adminFail(w, llm.KindInvalidRequest, "A gateway key cannot be changed; create a new one.", seed.FieldError{Field: "key", Message: "not accepted here"})
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

func (a *admin) ownerOf(ctx context.Context, key string) (int64, error) {
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

func (a *admin) deleteGatewayKey(w http.ResponseWriter, r *http.Request) {
	a.deleted(w, r, a.cfg.Store.DeleteAPIKey(r.Context(), chi.URLParam(r, "name")))
}

// export answers the whole configuration as the YAML AETHER_CONFIG takes,
// secrets as ${ENV} placeholders.
func (a *admin) export(w http.ResponseWriter, r *http.Request) {
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read the configuration.")
		return
	}
	b, err := seed.MarshalYAML(seed.FromConfig(cs, seed.Export))
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not render the configuration.")
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Disposition", `attachment; filename="aether.yaml"`)
	_, _ = w.Write(b)
}

// Requests.

func parseTimeParam(w http.ResponseWriter, r *http.Request, name string) (time.Time, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if d, derr := time.Parse(time.DateOnly, v); derr == nil {
			return d, true
		}
		adminFail(w, llm.KindInvalidRequest, "bad time", seed.FieldError{Field: name, Message: "must be RFC 3339 or YYYY-MM-DD"})
		return time.Time{}, false
	}
	return t, true
}

// idParam resolves a user or gateway key filter given as an ID or a name.
func (a *admin) idParam(w http.ResponseWriter, r *http.Request, param string, byName func(context.Context, string) (int64, error)) (int64, bool) {
	v := r.URL.Query().Get(param)
	if v == "" {
		return 0, true
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		return id, true
	}
	id, err := byName(r.Context(), v)
	if err != nil {
		adminFail(w, llm.KindInvalidRequest, "unknown "+param, seed.FieldError{Field: param, Message: "no such " + param})
		return 0, false
	}
	return id, true
}

func (a *admin) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RequestFilter{Model: q.Get("model"), Provider: q.Get("provider"), Status: q.Get("status"), Cursor: q.Get("cursor"),
		CorrelationID: q.Get("correlation_id")}
	var ok bool
	if f.UserID, ok = a.idParam(w, r, "user", a.cfg.Store.UserID); !ok {
		return
	}
	if f.APIKeyID, ok = a.idParam(w, r, "key", a.cfg.Store.APIKeyID); !ok {
		return
	}
	if f.From, ok = parseTimeParam(w, r, "from"); !ok {
		return
	}
	if f.To, ok = parseTimeParam(w, r, "to"); !ok {
		return
	}
	if s := f.Status; s != "" && s != "pending" && s != "streaming" && s != "completed" && s != "failed" && s != "cancelled" {
		adminFail(w, llm.KindInvalidRequest, "bad status", seed.FieldError{Field: "status", Message: "must be pending, streaming, completed, failed or cancelled"})
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			adminFail(w, llm.KindInvalidRequest, "bad limit", seed.FieldError{Field: "limit", Message: "must be 1 to 500"})
			return
		}
		f.Limit = n
	}
	list, next, err := a.cfg.Store.ListRequests(r.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		adminFail(w, llm.KindInvalidRequest, "bad cursor", seed.FieldError{Field: "cursor", Message: "was not issued by this server"})
		return
	}
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read requests.")
		return
	}
	if list == nil {
		list = []store.RequestSummary{}
	}
	resp := map[string]any{"requests": list, "next_cursor": nil}
	if next != "" {
		resp["next_cursor"] = next
	}
	adminJSON(w, http.StatusOK, resp)
}

func (a *admin) getRequest(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	d, err := a.cfg.Store.GetRequest(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		adminFail(w, llm.KindNotFound, "No request with that ID is recorded (yet).")
		return
	}
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read the request.")
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{
		"request":      d,
		"temporal_url": strings.TrimRight(a.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(a.cfg.Namespace) + "/workflows/" + url.PathEscape(id),
	})
}

func (a *admin) aggregate(w http.ResponseWriter, r *http.Request) {
	group := r.URL.Query().Get("group_by")
	if group == "" {
		group = "model"
	}
	from, ok := parseTimeParam(w, r, "from")
	if !ok {
		return
	}
	to, ok := parseTimeParam(w, r, "to")
	if !ok {
		return
	}
	if to.IsZero() {
		to = time.Now().Add(time.Minute)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	rows, err := a.cfg.Store.Aggregates(r.Context(), group, from, to)
	if errors.Is(err, store.ErrInvalid) {
		adminFail(w, llm.KindInvalidRequest, "bad group_by", seed.FieldError{Field: "group_by", Message: "must be model, user or provider"})
		return
	}
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read aggregates.")
		return
	}
	if rows == nil {
		rows = []store.Aggregate{}
	}
	adminJSON(w, http.StatusOK, map[string]any{"group_by": group, "from": from, "to": to, "rows": rows})
}

// Breakers.

func (a *admin) listBreakers(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Store.ListKeyHealth(r.Context())
	if err != nil {
		adminFail(w, llm.KindInternal, "Could not read breaker state.")
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
	adminJSON(w, http.StatusOK, map[string]any{"breakers": out})
}

func (a *admin) resetBreaker(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "key_id"), 10, 64)
	if err != nil {
		adminFail(w, llm.KindInvalidRequest, "bad key ID", seed.FieldError{Field: "key_id", Message: "must be a provider key ID"})
		return
	}
	if err := a.cfg.Store.ResetBreaker(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		adminFail(w, llm.KindNotFound, "No provider key with that ID.")
		return
	} else if err != nil {
		adminFail(w, llm.KindInternal, "Could not reset the breaker.")
		return
	}
	a.cfg.Breakers.Reset(id)
	adminJSON(w, http.StatusOK, map[string]any{"key_id": id, "state": "closed"})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
