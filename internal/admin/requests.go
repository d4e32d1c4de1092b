package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/llm"
	"aether/internal/seed"
	"aether/internal/store"
)

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
		fail(w, llm.KindInvalidRequest, "bad time", seed.FieldError{Field: name, Message: "must be RFC 3339 or YYYY-MM-DD"})
		return time.Time{}, false
	}
	return t, true
}

// idParam resolves a user or gateway key filter given as an ID or a name.
func (a *API) idParam(w http.ResponseWriter, r *http.Request, param string, byName func(context.Context, string) (int64, error)) (int64, bool) {
	v := r.URL.Query().Get(param)
	if v == "" {
		return 0, true
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		return id, true
	}
	id, err := byName(r.Context(), v)
	if err != nil {
		fail(w, llm.KindInvalidRequest, "unknown "+param, seed.FieldError{Field: param, Message: "no such " + param})
		return 0, false
	}
	return id, true
}

func (a *API) listRequests(w http.ResponseWriter, r *http.Request) {
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
		fail(w, llm.KindInvalidRequest, "bad status", seed.FieldError{Field: "status", Message: "must be pending, streaming, completed, failed or cancelled"})
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			fail(w, llm.KindInvalidRequest, "bad limit", seed.FieldError{Field: "limit", Message: "must be 1 to 500"})
			return
		}
		f.Limit = n
	}
	list, next, err := a.cfg.Store.ListRequests(r.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		fail(w, llm.KindInvalidRequest, "bad cursor", seed.FieldError{Field: "cursor", Message: "was not issued by this server"})
		return
	}
	if err != nil {
		fail(w, llm.KindInternal, "Could not read requests.")
		return
	}
	if list == nil {
		list = []store.RequestSummary{}
	}
	resp := map[string]any{"requests": list, "next_cursor": nil}
	if next != "" {
		resp["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) getRequest(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	d, err := a.cfg.Store.GetRequest(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, llm.KindNotFound, "No request with that ID is recorded (yet).")
		return
	}
	if err != nil {
		fail(w, llm.KindInternal, "Could not read the request.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request":      d,
		"temporal_url": strings.TrimRight(a.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(a.cfg.Namespace) + "/workflows/" + url.PathEscape(id),
	})
}

func (a *API) aggregate(w http.ResponseWriter, r *http.Request) {
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
		fail(w, llm.KindInvalidRequest, "bad group_by", seed.FieldError{Field: "group_by", Message: "must be model, user or provider"})
		return
	}
	if err != nil {
		fail(w, llm.KindInternal, "Could not read aggregates.")
		return
	}
	if rows == nil {
		rows = []store.Aggregate{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_by": group, "from": from, "to": to, "rows": rows})
}
