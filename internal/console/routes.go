package console

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes returns the console's router, to be mounted at /console. Every
// console route is declared here.
func (c *Console) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(headers)
	static, _ := fs.Sub(staticFS, "static")
	r.Handle("/static/*", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	r.Get("/login", c.loginPage)
	r.Post("/login", c.login)

	r.Group(func(r chi.Router) {
		r.Use(c.requireSession)
		r.Post("/logout", c.logout)
		r.Get("/", c.overview)
		r.Get("/requests", c.requests)
		r.Get("/requests/{id}", c.request)
		r.Get("/providers", c.providers)
		r.Post("/providers", c.createProvider)
		r.Post("/providers/{name}", c.editProvider)
		r.Post("/providers/{name}/delete", c.deleteProvider)
		r.Post("/providers/{name}/endpoints", c.putEndpoint)
		r.Post("/providers/{name}/endpoints/{endpoint}/delete", c.deleteEndpoint)
		r.Post("/providers/{name}/keys", c.putProviderKey)
		r.Post("/providers/{name}/keys/{key}/delete", c.deleteProviderKey)
		r.Post("/breakers/{id}/reset", c.resetBreaker)
		r.Get("/models", c.models)
		r.Post("/models", c.createModel)
		r.Post("/models/{name}/delete", c.deleteModel)
		r.Post("/prices", c.putPrice)
		r.Post("/prices/delete", c.deletePrice)
		r.Post("/prices/import", c.importPrices)
		r.Get("/users", c.users)
		r.Post("/users", c.saveUser)
		r.Post("/users/{name}/delete", c.deleteUser)
		r.Post("/keys", c.createKey)
		r.Post("/keys/{name}", c.updateKey)
		r.Post("/keys/{name}/delete", c.deleteKey)
		r.Get("/audit", c.audit)
	})
	return r
}
