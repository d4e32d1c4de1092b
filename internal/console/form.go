package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func contextWith(r *http.Request, s session) context.Context {
	return context.WithValue(r.Context(), ctxKey{}, s)
}

func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(ctxKey{}).(session)
	return s
}

// formState is a submitted form shown again with the admin API's errors:
// each error beside the field it names, the rest above the form.
type formState struct {
	Name    string            // which form on the page
	Values  map[string]string // what the operator typed (never a secret)
	Errors  map[string]string // field path → message
	Message string
	Other   []string // errors naming no field of the form
}

// Val is a submitted value of the named form.
func (f *formState) Val(form, field string) string {
	if f == nil || f.Name != form {
		return ""
	}
	return f.Values[field]
}

// Err is the error of a field of the named form.
func (f *formState) Err(form, field string) string {
	if f == nil || f.Name != form {
		return ""
	}
	return f.Errors[field]
}

// For reports whether the state belongs to the named form.
func (f *formState) For(form string) bool { return f != nil && f.Name == form }

// Field kinds of the admin API's bodies, by the last element of a path;
// every other field is a string.
var (
	intFields  = map[string]bool{"priority": true, "global_priority": true, "rpm_limit": true, "max_concurrent": true, "threshold": true}
	listFields = map[string]bool{"aliases": true, "allowed_models": true, "allowed_providers": true, "allowed_formats": true}
	boolFields = map[string]bool{"active": true}
	secretKeys = map[string]bool{"secret": true, "key": true, "csrf": true, "token": true}
)

// body turns the named form fields into the admin API's JSON body. A field
// path such as "endpoints[0].base_url" is the body's path, so the admin
// API's errors name the form's inputs. Empty fields are left out.
func body(form url.Values, fields []string) ([]byte, map[string]string) {
	root := map[string]any{}
	shown := map[string]string{}
	for _, f := range fields {
		v := strings.TrimSpace(form.Get(f))
		last := f[strings.LastIndexByte(f, '.')+1:]
		if !secretKeys[last] {
			shown[f] = v
		}
		if v == "" {
			continue
		}
		var val any = v
		switch {
		case intFields[last]:
			if n, err := strconv.Atoi(v); err == nil {
				val = n
			}
		case listFields[last]:
			var list []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
			val = list
		case boolFields[last]:
			if b, err := strconv.ParseBool(v); err == nil {
				val = b
			}
		case last == "expires_at":
			if t, err := time.ParseInLocation("2006-01-02T15:04", v, time.UTC); err == nil {
				val = t.Format(time.RFC3339)
			}
		}
		set(root, strings.Split(f, "."), val)
	}
	b, _ := json.Marshal(root)
	return b, shown
}

// set stores v at a path whose elements may be indexed ("keys[0]").
func set(m map[string]any, path []string, v any) {
	name, idx := path[0], -1
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		idx, _ = strconv.Atoi(name[i+1 : len(name)-1])
		name = name[:i]
	}
	if idx < 0 {
		if len(path) == 1 {
			m[name] = v
			return
		}
		sub, ok := m[name].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[name] = sub
		}
		set(sub, path[1:], v)
		return
	}
	list, _ := m[name].([]any)
	for len(list) <= idx {
		list = append(list, map[string]any{})
	}
	m[name] = list
	if len(path) == 1 {
		list[idx] = v
		return
	}
	set(list[idx].(map[string]any), path[1:], v)
}

// stateOf turns an admin API error into the form's state.
func stateOf(name string, shown map[string]string, fields []string, e *apiError) *formState {
	st := &formState{Name: name, Values: shown, Errors: map[string]string{}, Message: e.Error.Message}
	known := map[string]bool{}
	for _, f := range fields {
		known[f] = true
	}
	for _, fe := range e.Error.Fields {
		if !known[fe.Field] { // a nested body's field ("priority" of keys[0])
			for _, f := range fields {
				if strings.HasSuffix(f, "]."+fe.Field) {
					fe.Field = f
					break
				}
			}
		}
		if known[fe.Field] {
			st.Errors[fe.Field] = fe.Message
		} else {
			st.Other = append(st.Other, fe.Field+": "+fe.Message)
		}
	}
	return st
}
