package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes returns the admin API's router, to be mounted at /admin/v1. Every
// admin route is declared here; the handlers live in one file per
// resource.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(a.auth)

	providers := a.providers()
	r.Get("/providers", providers.listAll)
	r.Post("/providers", providers.create)
	r.Get("/providers/{name}", providers.get)
	r.Put("/providers/{name}", providers.replace)
	r.Delete("/providers/{name}", providers.remove)
	r.Put("/providers/{name}/endpoints/{endpoint}", a.putEndpoint)
	r.Delete("/providers/{name}/endpoints/{endpoint}", a.deleteEndpoint)
	r.Put("/providers/{name}/keys/{key}", a.putProviderKey)
	r.Delete("/providers/{name}/keys/{key}", a.deleteProviderKey)

	models := a.models()
	r.Get("/models", models.listAll)
	r.Post("/models", models.create)
	r.Get("/models/{name}", models.get)
	r.Put("/models/{name}", models.replace)
	r.Delete("/models/{name}", models.remove)

	r.Get("/prices", a.listPrices)
	r.Post("/prices/import", a.importPrices)
	r.Put("/prices/{model}", a.putPrice)
	r.Delete("/prices/{model}", a.deletePrice)

	users := a.users()
	r.Get("/users", users.listAll)
	r.Post("/users", users.create)
	r.Get("/users/{name}", users.get)
	r.Put("/users/{name}", users.replace)
	r.Delete("/users/{name}", users.remove)
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
	return r
}
