package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
)

// crud serves list, get, create, replace and delete of one kind of named
// configuration entity, validated by the configuration file's rules and
// written by the same code that applies the file. Its handlers are
// mounted in routes.go.
type crud[T any] struct {
	a                *API
	path, list, what string // path: the collection's, for messages; list: its key in the list body
	exists           func(context.Context, string) (bool, error)
	all              func(*seed.File) []T
	nameOf           func(*T) *string
	doc              func(T) *seed.File // the entity as a document, for Validate
	prefix           string             // its path in that document, trimmed from field names
	refuse           func(T) *seed.FieldError
	apply            func(context.Context, *store.Tx, T) error
	del              func(context.Context, string) error
}

func (c crud[T]) listAll(w http.ResponseWriter, r *http.Request) {
	f, ok := c.a.view(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{c.list: nonNil(c.all(f))})
}

func (c crud[T]) get(w http.ResponseWriter, r *http.Request) {
	c.answer(w, r, http.StatusOK, pathParam(r, "name"))
}

func (c crud[T]) create(w http.ResponseWriter, r *http.Request) {
	var v T
	if !decode(w, r, &v) {
		return
	}
	if ok, fine := c.a.exists(w, r, c.exists, *c.nameOf(&v)); !fine {
		return
	} else if ok {
		fail(w, llm.KindConflict, fmt.Sprintf("%s %q already exists; PUT %s/%s changes it.", c.what, *c.nameOf(&v), c.path, *c.nameOf(&v)))
		return
	}
	c.save(w, r, v, http.StatusCreated)
}

func (c crud[T]) replace(w http.ResponseWriter, r *http.Request) {
	var v T
	if !decode(w, r, &v) || !nameFromPath(w, c.nameOf(&v), pathParam(r, "name")) {
		return
	}
	c.save(w, r, v, http.StatusOK)
}

func (c crud[T]) remove(w http.ResponseWriter, r *http.Request) {
	c.a.deleted(w, r, c.del(r.Context(), pathParam(r, "name")))
}

func (c crud[T]) answer(w http.ResponseWriter, r *http.Request, status int, name string) {
	one(c.a, w, r, status, func(f *seed.File) (T, bool) {
		return find(c.all(f), func(v T) string { return *c.nameOf(&v) }, name)
	})
}

func (c crud[T]) save(w http.ResponseWriter, r *http.Request, v T, status int) {
	if c.refuse != nil {
		if fe := c.refuse(v); fe != nil {
			fail(w, llm.KindInvalidRequest, "The request has invalid fields.", *fe)
			return
		}
	}
	if !validate(w, c.doc(v), c.prefix) {
		return
	}
	if c.a.write(w, r, func(tx *store.Tx) error { return c.apply(r.Context(), tx, v) }) {
		c.answer(w, r, status, *c.nameOf(&v))
	}
}

// view loads the configuration as the admin API shows it, answering the
// client itself when it cannot.
func (a *API) view(w http.ResponseWriter, r *http.Request) (*seed.File, bool) {
	cs, err := a.cfg.Store.LoadConfig(r.Context())
	if err != nil {
		fail(w, llm.KindInternal, "Could not read the configuration.")
		return nil, false
	}
	return seed.FromConfig(cs, seed.View), true
}

// one answers a single entity found by name in the current view.
func one[T any](a *API, w http.ResponseWriter, r *http.Request, status int, pick func(*seed.File) (T, bool)) {
	f, ok := a.view(w, r)
	if !ok {
		return
	}
	v, ok := pick(f)
	if !ok {
		fail(w, llm.KindNotFound, "Nothing by that name.")
		return
	}
	writeJSON(w, status, v)
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

// nameFromPath fills an empty name from the URL and refuses a mismatch.
func nameFromPath(w http.ResponseWriter, name *string, path string) bool {
	if *name == "" {
		*name = path
	}
	if *name != path {
		fail(w, llm.KindInvalidRequest, "The body's name differs from the URL's.", seed.FieldError{Field: "name", Message: "must match the URL"})
		return false
	}
	return true
}

func (a *API) exists(w http.ResponseWriter, r *http.Request, exists func(context.Context, string) (bool, error), name string) (bool, bool) {
	ok, err := exists(r.Context(), name)
	if err != nil {
		fail(w, llm.KindInternal, "Could not read the configuration.")
		return false, false
	}
	return ok, true
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
			fail(w, llm.KindInvalidRequest, "invalid field", seed.FieldError{Field: field, Message: msg})
		} else {
			fail(w, llm.KindInvalidRequest, "The body is not valid JSON: "+msg)
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
	fail(w, llm.KindInvalidRequest, "The request has invalid fields.", errs...)
	return false
}

// write runs f in one transaction and answers the error, if any; a
// successful change reloads this replica's snapshot.
func (a *API) write(w http.ResponseWriter, r *http.Request, f func(tx *store.Tx) error) bool {
	err := a.cfg.Store.InTx(r.Context(), f)
	var ae *seed.ApplyError
	switch {
	case err == nil:
		if a.cfg.Refresh != nil {
			_ = a.cfg.Refresh(r.Context())
		}
		return true
	case errors.As(err, &ae):
		fail(w, llm.KindInvalidRequest, "The request has invalid fields.", seed.FieldError{Field: ae.Field, Message: ae.Message})
	case errors.Is(err, store.ErrConflict):
		fail(w, llm.KindConflict, err.Error())
	case errors.Is(err, store.ErrInvalid):
		fail(w, llm.KindInvalidRequest, err.Error())
	default:
		fail(w, llm.KindInternal, "The change could not be saved.")
	}
	return false
}

func (a *API) deleted(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case err == nil:
		if a.cfg.Refresh != nil {
			_ = a.cfg.Refresh(r.Context())
		}
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, store.ErrNotFound):
		fail(w, llm.KindNotFound, "Nothing by that name.")
	default:
		fail(w, llm.KindInternal, "The delete failed.")
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pathParam is a name from the route, percent-decoded: chi matches the
// escaped path when there is one, and a model pattern such as o[0-9]* is
// sent escaped (issue 10).
func pathParam(r *http.Request, key string) string {
	v := chi.URLParam(r, key)
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}
