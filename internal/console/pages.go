package console

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"aether/internal/seed"
	"aether/internal/store"
)

// view is what every page template receives.
type view struct {
	Title string
	Nav   string
	CSRF  string
	Form  *formState
	Flash string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	if s, ok := c.session(r); ok {
		v.CSRF = c.csrf(s)
	}
	v.Nav = page
	if v.Form == nil {
		v.Form = &formState{}
	}
	if status == http.StatusOK && v.Form != nil && (v.Form.Message != "" || len(v.Form.Errors) > 0) {
		status = http.StatusBadRequest
	}
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, v); err != nil {
		c.cfg.Log.Error("console: render", "page", page, "error", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an admin API error that belongs to no form.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	http.Error(w, e.Error.Message, http.StatusBadGateway)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", view{Title: "Log in"})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if subtle.ConstantTimeCompare([]byte(tok), []byte(c.cfg.Admin.Token)) != 1 {
		time.Sleep(200 * time.Millisecond) // slows guessing; the token has 128 bits or more anyway
		c.render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in",
			Form: &formState{Name: "login", Errors: map[string]string{"token": "This is not the admin token."}}})
		return
	}
	c.newSession(w, r)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.revoke(sessionFrom(r.Context()))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// submit sends a form to the admin API; on success it redirects to back,
// else it renders the page again with the errors beside their fields.
func (c *Console) submit(w http.ResponseWriter, r *http.Request, form, method, path string, fields []string, sub string, back string, page func(*formState)) {
	b, shown := body(r.PostForm, fields)
	if sub != "" { // the body is one element of the form's document, e.g. keys[0]
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		name, idx, _ := strings.Cut(strings.TrimSuffix(sub, "]"), "[")
		var el any = map[string]any{}
		if list, ok := m[name].([]any); ok && idx == "0" && len(list) > 0 {
			el = list[0]
		}
		b, _ = json.Marshal(el)
	}
	if _, e := c.call(r, method, path, bytes.NewReader(b), "application/json"); e != nil {
		page(stateOf(form, shown, fields, e))
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// remove runs an admin API delete and goes back.
func (c *Console) remove(w http.ResponseWriter, r *http.Request, path, back string) {
	if _, e := c.call(r, http.MethodDelete, path, nil, ""); e != nil {
		c.fail(w, r, e)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func esc(s string) string { return url.PathEscape(s) }

// --- Overview ---

type groupRow struct {
	Name     string
	Requests int64
	Failed   int64
	Tokens   int64
	CostUSD  float64
}

type bar struct {
	X, Y, W, H float64
	Label      string
}

type pipeline struct {
	Backlog, OldestSeconds, ShipErrors, HeldBack, WriteErrors float64
	Shipping                                                  string
}

type overviewData struct {
	From, To                 time.Time
	O                        *store.Overview
	Bars                     []bar
	MaxHour                  int64
	Models, Users, Providers []groupRow
	Pipeline                 *pipeline
	FailurePct               float64
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	to := c.now().UTC()
	// Whole hours, as the overview's hourly sums hold them.
	from := to.Add(-24 * time.Hour).Truncate(time.Hour)
	o, err := c.store.ConsoleOverview(r.Context(), from, to)
	if err != nil {
		http.Error(w, "Could not read requests.", http.StatusInternalServerError)
		return
	}
	d := overviewData{From: from, To: to, O: o}
	if o.Requests > 0 {
		d.FailurePct = 100 * float64(o.Failed) / float64(o.Requests)
	}
	for _, h := range o.Hours {
		d.MaxHour = max(d.MaxHour, h.Requests)
	}
	const chartW, chartH = 720.0, 120.0
	for _, h := range o.Hours {
		slot := math.Floor(h.Hour.Sub(from.Truncate(time.Hour)).Hours())
		if slot < 0 || slot > 24 {
			continue
		}
		hh := chartH * float64(h.Requests) / float64(max(d.MaxHour, 1))
		d.Bars = append(d.Bars, bar{X: slot * chartW / 25, Y: chartH - hh, W: chartW/25 - 2, H: hh,
			Label: fmt.Sprintf("%s: %d requests, %d failed", h.Hour.Format("15:04"), h.Requests, h.Failed)})
	}
	names := map[string]string{}
	var users struct{ Users []seed.User }
	if c.get(r, "/users", &users) == nil {
		for _, u := range users.Users {
			names[strconv.FormatInt(u.ID, 10)] = u.Name
		}
	}
	for _, g := range []struct {
		by  string
		in  []store.GroupStats
		out *[]groupRow
	}{{"model", o.Models, &d.Models}, {"user", o.Users, &d.Users}, {"provider", o.Providers, &d.Providers}} {
		for _, a := range g.in {
			name := a.Group
			if n, ok := names[a.Group]; ok && g.by == "user" {
				name = n
			}
			*g.out = append(*g.out, groupRow{Name: name, Requests: a.Requests, Failed: a.Failed, Tokens: a.Tokens, CostUSD: a.CostUSD})
		}
	}
	if c.cfg.Metrics != nil {
		d.Pipeline = c.pipeline(r)
	}
	c.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Data: d})
}

// pipeline reads the accounting pipeline's gauges and counters from this
// replica's own metrics.
func (c *Console) pipeline(r *http.Request) *pipeline {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/metrics", nil)
	x := &reply{header: http.Header{}}
	c.cfg.Metrics.ServeHTTP(x, req)
	sum := map[string]float64{}
	for _, line := range strings.Split(x.body.String(), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i > 0 {
			name = line[:i]
			_, rest, ok = strings.Cut(line[strings.LastIndexByte(line, '}'):], " ")
		}
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum[name] += v
		}
	}
	p := &pipeline{Backlog: sum["aether_journal_unshipped_entries"], OldestSeconds: sum["aether_journal_oldest_unshipped_seconds"],
		ShipErrors: sum["aether_ship_errors_total"], HeldBack: sum["aether_ship_held_back_total"], WriteErrors: sum["aether_journal_write_errors_total"]}
	switch {
	case p.Backlog == 0:
		p.Shipping = "caught up"
	case p.OldestSeconds < 30:
		p.Shipping = "shipping"
	default:
		p.Shipping = "behind: Temporal unreachable or its workers slow"
	}
	return p
}

// --- Requests ---

var requestFilters = []string{"user", "key", "model", "provider", "status", "from", "to"}

type requestsData struct {
	Filter map[string]string
	List   []store.RequestSummary
	Next   string
	Users  map[int64]string
	Cursor string
}

func (c *Console) requests(w http.ResponseWriter, r *http.Request) {
	q := url.Values{}
	d := requestsData{Filter: map[string]string{}, Users: map[int64]string{}}
	for _, f := range requestFilters {
		if v := strings.TrimSpace(r.URL.Query().Get(f)); v != "" {
			q.Set(f, v)
			d.Filter[f] = v
		}
	}
	for _, f := range []string{"from", "to"} { // datetime-local inputs, read as UTC
		if t, err := time.ParseInLocation("2006-01-02T15:04", d.Filter[f], time.UTC); err == nil {
			q.Set(f, t.Format(time.RFC3339))
		}
	}
	q.Set("limit", "50")
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
		d.Cursor = cur
	}
	var list struct {
		Requests   []store.RequestSummary `json:"requests"`
		NextCursor string                 `json:"next_cursor"`
	}
	var st *formState
	if e := c.get(r, "/requests?"+q.Encode(), &list); e != nil {
		st = stateOf("filter", d.Filter, append(requestFilters, "cursor"), e)
	}
	d.List = list.Requests
	if list.NextCursor != "" {
		nq := url.Values{}
		for k, v := range d.Filter {
			nq.Set(k, v)
		}
		nq.Set("cursor", list.NextCursor)
		d.Next = "/console/requests?" + nq.Encode()
	}
	var users struct{ Users []seed.User }
	if c.get(r, "/users", &users) == nil {
		for _, u := range users.Users {
			d.Users[u.ID] = u.Name
		}
	}
	c.render(w, r, http.StatusOK, "requests", view{Title: "Requests", Form: st, Data: d})
}

type requestData struct {
	R           store.RequestDetail
	TemporalURL string
	Prices      string
	User        string
}

func (c *Console) request(w http.ResponseWriter, r *http.Request) {
	var got struct {
		Request     json.RawMessage `json:"request"`
		TemporalURL string          `json:"temporal_url"`
	}
	if e := c.get(r, "/requests/"+esc(chi.URLParam(r, "id")), &got); e != nil {
		http.Error(w, e.Error.Message, http.StatusNotFound)
		return
	}
	d := requestData{TemporalURL: got.TemporalURL}
	if err := json.Unmarshal(got.Request, &d.R); err != nil {
		http.Error(w, "Unreadable request.", http.StatusInternalServerError)
		return
	}
	var raw struct {
		Cost struct {
			Prices json.RawMessage `json:"prices"`
		} `json:"cost"`
	}
	_ = json.Unmarshal(got.Request, &raw)
	if len(raw.Cost.Prices) > 0 && string(raw.Cost.Prices) != "null" {
		var buf bytes.Buffer
		if json.Indent(&buf, raw.Cost.Prices, "", "  ") == nil {
			d.Prices = buf.String()
		}
	}
	if d.R.UserID != nil {
		var users struct{ Users []seed.User }
		if c.get(r, "/users", &users) == nil {
			for _, u := range users.Users {
				if u.ID == *d.R.UserID {
					d.User = u.Name
				}
			}
		}
	}
	c.render(w, r, http.StatusOK, "request", view{Title: "Request " + d.R.RequestID, Data: d})
}

// --- Providers ---

var (
	providerFields = []string{"name", "priority", "endpoints[0].name", "endpoints[0].format", "endpoints[0].base_url",
		"keys[0].name", "keys[0].secret", "keys[0].priority", "keys[0].max_concurrent"}
	endpointFields = []string{"endpoints[0].name", "endpoints[0].format", "endpoints[0].base_url"}
	keyFields      = []string{"keys[0].name", "keys[0].secret", "keys[0].priority", "keys[0].max_concurrent", "keys[0].allowed_models"}
)

type providersData struct {
	Providers []seed.Provider
	Breakers  map[int64]store.KeyHealth
}

func (c *Console) providersPage(w http.ResponseWriter, r *http.Request, st *formState) {
	var d providersData
	var list struct{ Providers []seed.Provider }
	if e := c.get(r, "/providers", &list); e != nil {
		c.fail(w, r, e)
		return
	}
	d.Providers = list.Providers
	var br struct{ Breakers []store.KeyHealth }
	d.Breakers = map[int64]store.KeyHealth{}
	if c.get(r, "/breakers", &br) == nil {
		for _, b := range br.Breakers {
			d.Breakers[b.KeyID] = b
		}
	}
	c.render(w, r, http.StatusOK, "providers", view{Title: "Providers", Form: st, Data: d})
}

func (c *Console) providers(w http.ResponseWriter, r *http.Request) { c.providersPage(w, r, nil) }

func (c *Console) againProviders(w http.ResponseWriter, r *http.Request) func(*formState) {
	return func(st *formState) { c.providersPage(w, r, st) }
}

func (c *Console) createProvider(w http.ResponseWriter, r *http.Request) {
	c.submit(w, r, "provider", http.MethodPost, "/providers", providerFields, "", "/console/providers", c.againProviders(w, r))
}

// editProvider changes a provider's own settings (priority, active); its
// endpoints and keys stay as they are.
func (c *Console) editProvider(w http.ResponseWriter, r *http.Request) {
	p := chi.URLParam(r, "name")
	r.PostForm.Set("name", p)
	c.submit(w, r, "edit:"+p, http.MethodPut, "/providers/"+esc(p), []string{"name", "priority", "active"}, "", "/console/providers", c.againProviders(w, r))
}

func (c *Console) deleteProvider(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/providers/"+esc(chi.URLParam(r, "name")), "/console/providers")
}

func (c *Console) putEndpoint(w http.ResponseWriter, r *http.Request) {
	p := chi.URLParam(r, "name")
	if strings.TrimSpace(r.PostFormValue("endpoints[0].name")) == "" { // an endpoint is named after its format by default
		r.PostForm.Set("endpoints[0].name", r.PostFormValue("endpoints[0].format"))
	}
	c.submit(w, r, "endpoint:"+p, http.MethodPut, "/providers/"+esc(p)+"/endpoints/"+esc(r.PostFormValue("endpoints[0].name")),
		endpointFields, "endpoints[0]", "/console/providers", c.againProviders(w, r))
}

func (c *Console) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/providers/"+esc(chi.URLParam(r, "name"))+"/endpoints/"+esc(chi.URLParam(r, "endpoint")), "/console/providers")
}

func (c *Console) putProviderKey(w http.ResponseWriter, r *http.Request) {
	p := chi.URLParam(r, "name")
	if strings.TrimSpace(r.PostFormValue("keys[0].name")) == "" {
		st := &formState{Name: "key:" + p, Values: map[string]string{}, Errors: map[string]string{"keys[0].name": "required"},
			Message: "The request has invalid fields."}
		c.providersPage(w, r, st)
		return
	}
	c.submit(w, r, "key:"+p, http.MethodPut, "/providers/"+esc(p)+"/keys/"+esc(r.PostFormValue("keys[0].name")),
		keyFields, "keys[0]", "/console/providers", c.againProviders(w, r))
}

func (c *Console) deleteProviderKey(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/providers/"+esc(chi.URLParam(r, "name"))+"/keys/"+esc(chi.URLParam(r, "key")), "/console/providers")
}

func (c *Console) resetBreaker(w http.ResponseWriter, r *http.Request) {
	if _, e := c.call(r, http.MethodPost, "/breakers/"+esc(chi.URLParam(r, "id"))+"/reset", nil, ""); e != nil {
		c.fail(w, r, e)
		return
	}
	http.Redirect(w, r, "/console/providers", http.StatusSeeOther)
}

// --- Models and prices ---

var (
	modelFields = []string{"name", "aliases", "routes[0].provider", "routes[0].upstream_model"}
	priceFields = []string{"model", "provider", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "per_request"}
)

type modelsData struct {
	Models    []seed.Model
	Prices    []seed.Price
	Providers []seed.Provider
	Imported  string
	Edit      string // the model the form changes, if any
}

func (c *Console) modelsPage(w http.ResponseWriter, r *http.Request, st *formState, imported string) {
	var d modelsData
	var m struct{ Models []seed.Model }
	var p struct{ Prices []seed.Price }
	var pr struct{ Providers []seed.Provider }
	for _, g := range []struct {
		path string
		v    any
	}{{"/models", &m}, {"/prices", &p}, {"/providers", &pr}} {
		if e := c.get(r, g.path, g.v); e != nil {
			c.fail(w, r, e)
			return
		}
	}
	d.Models, d.Prices, d.Providers, d.Imported = m.Models, p.Prices, pr.Providers, imported
	for _, mod := range d.Models {
		if mod.Name == r.URL.Query().Get("edit") {
			d.Edit = mod.Name
			if st == nil {
				st = &formState{Name: "model", Values: map[string]string{"name": mod.Name, "aliases": strings.Join(mod.Aliases, ", ")}}
				if len(mod.Routes) > 0 {
					st.Values["routes[0].provider"] = mod.Routes[0].Provider
					st.Values["routes[0].upstream_model"] = mod.Routes[0].UpstreamModel
				}
			}
		}
	}
	c.render(w, r, http.StatusOK, "models", view{Title: "Models and prices", Form: st, Data: d})
}

func (c *Console) models(w http.ResponseWriter, r *http.Request) { c.modelsPage(w, r, nil, "") }

// createModel creates a model, or replaces one when the form edits it
// (its first route only: a model with more routes is changed through the
// admin API or the configuration file).
func (c *Console) createModel(w http.ResponseWriter, r *http.Request) {
	again := func(st *formState) { c.modelsPage(w, r, st, "") }
	if orig := r.PostFormValue("edit"); orig != "" {
		c.submit(w, r, "model", http.MethodPut, "/models/"+esc(orig), modelFields, "", "/console/models", again)
		return
	}
	c.submit(w, r, "model", http.MethodPost, "/models", modelFields, "", "/console/models", again)
}

func (c *Console) deleteModel(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/models/"+esc(chi.URLParam(r, "name")), "/console/models")
}

func (c *Console) putPrice(w http.ResponseWriter, r *http.Request) {
	model := strings.TrimSpace(r.PostFormValue("model"))
	path := "/prices/" + esc(model)
	if model == "" {
		path = "/prices/-"
	}
	c.submit(w, r, "price", http.MethodPut, path, priceFields, "", "/console/models",
		func(st *formState) { c.modelsPage(w, r, st, "") })
}

func (c *Console) deletePrice(w http.ResponseWriter, r *http.Request) {
	path := "/prices/" + esc(r.PostFormValue("model"))
	if p := r.PostFormValue("provider"); p != "" {
		path += "?provider=" + url.QueryEscape(p)
	}
	c.remove(w, r, path, "/console/models")
}

// importPrices passes an uploaded LiteLLM price file to the admin API.
func (c *Console) importPrices(w http.ResponseWriter, r *http.Request) {
	f, _, err := r.FormFile("file")
	if err != nil {
		c.modelsPage(w, r, &formState{Name: "import", Errors: map[string]string{"file": "Choose a model_prices_and_context_window.json file."}}, "")
		return
	}
	defer f.Close()
	path := "/prices/import"
	if r.PostFormValue("overwrite") == "true" {
		path += "?overwrite=true"
	}
	x, e := c.call(r, http.MethodPost, path, f, "application/json")
	if e != nil {
		c.modelsPage(w, r, &formState{Name: "import", Errors: map[string]string{"file": e.Error.Message}}, "")
		return
	}
	var res struct {
		Imported []string `json:"imported"`
		Kept     []string `json:"kept_existing"`
	}
	_ = json.Unmarshal(x.body.Bytes(), &res)
	c.modelsPage(w, r, nil, fmt.Sprintf("Imported prices for %d models (%s); kept %d existing.", len(res.Imported),
		strings.Join(res.Imported, ", "), len(res.Kept)))
}

// --- Users and gateway keys ---

var (
	userFields    = []string{"name", "email", "budget_usd", "budget_period", "rpm_limit", "allowed_models"}
	gwKeyFields   = []string{"name", "allowed_formats", "allowed_models", "budget_usd", "budget_period", "rpm_limit", "expires_at"}
	keyEditFields = gwKeyFields
)

type userRow struct {
	seed.User
	Spend, Budget float64
}

type keyRow struct {
	seed.GatewayKey
	Spend, Budget float64
}

type usersData struct {
	Users []userRow
	Keys  []keyRow
	Edit  *seed.User
}

func money(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, st *formState) {
	var list struct{ Users []seed.User }
	if e := c.get(r, "/users", &list); e != nil {
		c.fail(w, r, e)
		return
	}
	var d usersData
	edit := r.URL.Query().Get("edit")
	for _, u := range list.Users {
		row := userRow{User: u, Spend: money(u.SpendUSD)}
		if u.BudgetUSD != nil {
			row.Budget = money(u.BudgetUSD.String())
		}
		d.Users = append(d.Users, row)
		for _, k := range u.Keys {
			kr := keyRow{GatewayKey: k, Spend: money(k.SpendUSD)}
			kr.User = u.Name
			if k.BudgetUSD != nil {
				kr.Budget = money(k.BudgetUSD.String())
			}
			d.Keys = append(d.Keys, kr)
		}
		if u.Name == edit {
			d.Edit = &u
		}
	}
	if st == nil && d.Edit != nil {
		st = &formState{Name: "user", Values: map[string]string{"name": d.Edit.Name, "email": d.Edit.Email,
			"budget_period": d.Edit.BudgetPeriod, "allowed_models": strings.Join(d.Edit.AllowedModels, ", ")}}
		if d.Edit.BudgetUSD != nil {
			st.Values["budget_usd"] = d.Edit.BudgetUSD.String()
		}
		if d.Edit.RPMLimit != nil {
			st.Values["rpm_limit"] = strconv.Itoa(*d.Edit.RPMLimit)
		}
	}
	c.render(w, r, http.StatusOK, "users", view{Title: "Users and gateway keys", Form: st, Data: d})
}

func (c *Console) users(w http.ResponseWriter, r *http.Request) { c.usersPage(w, r, nil) }

// saveUser creates a user, or changes one when the form edits it.
func (c *Console) saveUser(w http.ResponseWriter, r *http.Request) {
	again := func(st *formState) { c.usersPage(w, r, st) }
	if orig := r.PostFormValue("edit"); orig != "" {
		c.submit(w, r, "user", http.MethodPut, "/users/"+esc(orig), userFields, "", "/console/users", again)
		return
	}
	c.submit(w, r, "user", http.MethodPost, "/users", userFields, "", "/console/users", again)
}

func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/users/"+esc(chi.URLParam(r, "name")), "/console/users")
}

// createKey makes a gateway key and shows it this once: the answer is not
// stored, cached or shown again.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	b, shown := body(r.PostForm, gwKeyFields)
	shown["user"] = user
	fields := append([]string{"user"}, gwKeyFields...)
	path := "/users/" + esc(user) + "/keys"
	if user == "" {
		e := &apiError{}
		e.Error.Message = "The request has invalid fields."
		e.Error.Fields = append(e.Error.Fields, struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		}{"user", "choose a user"})
		c.usersPage(w, r, stateOf("gwkey", shown, fields, e))
		return
	}
	x, e := c.call(r, http.MethodPost, path, bytes.NewReader(b), "application/json")
	if e != nil {
		c.usersPage(w, r, stateOf("gwkey", shown, fields, e))
		return
	}
	var res struct {
		Key        string          `json:"key"`
		GatewayKey seed.GatewayKey `json:"gateway_key"`
	}
	_ = json.Unmarshal(x.body.Bytes(), &res)
	c.render(w, r, http.StatusCreated, "keycreated", view{Title: "Gateway key created", Data: res})
}

func (c *Console) updateKey(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	r.PostForm.Set("name", name)
	c.submit(w, r, "gwedit:"+name, http.MethodPut, "/keys/"+esc(name), keyEditFields, "", "/console/users",
		func(st *formState) { c.usersPage(w, r, st) })
}

func (c *Console) deleteKey(w http.ResponseWriter, r *http.Request) {
	c.remove(w, r, "/keys/"+esc(chi.URLParam(r, "name")), "/console/users")
}

// --- Audit log ---

type auditData struct {
	Lines []store.AuditLine
	Next  string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	lines, err := c.store.ListAudit(r.Context(), before, 100)
	if err != nil {
		http.Error(w, "Could not read the audit log.", http.StatusInternalServerError)
		return
	}
	d := auditData{Lines: lines}
	if len(lines) == 100 {
		d.Next = "/console/audit?before=" + strconv.FormatInt(lines[len(lines)-1].ID, 10)
	}
	c.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Data: d})
}

var funcs = template.FuncMap{
	"ts": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04:05")
			}
		}
		return ""
	},
	"deref": func(v any) any {
		switch p := v.(type) {
		case *string:
			if p != nil {
				return *p
			}
		case *int:
			if p != nil {
				return *p
			}
		case *int64:
			if p != nil {
				return *p
			}
		case *bool:
			if p != nil {
				return *p
			}
			return true // absent: the default, active
		case *seed.Decimal:
			if p != nil {
				return p.String()
			}
		}
		return ""
	},
	"local": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04")
	},
	"usd":      func(f float64) string { return fmt.Sprintf("$%.4f", f) },
	"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	"join":     func(l []string) string { return strings.Join(l, ", ") },
	"id":       func(id int64) string { return strconv.FormatInt(id, 10) },
	"path":     url.PathEscape,
	"statuses": func() []string { return []string{"pending", "streaming", "completed", "failed", "cancelled"} },
	"formats":  func() []string { return []string{"openai", "openai-chat", "anthropic", "gemini"} },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}
