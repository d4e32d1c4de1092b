package admin_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"aether/internal/admin"
)

// TestRoutesMatchREADME: the routes routes.go declares are exactly those
// the README's admin API table lists.
func TestRoutesMatchREADME(t *testing.T) {
	t.Parallel()
	var got []string
	h := admin.New(admin.Config{Token: "x"}).Routes()
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got = append(got, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "### Admin API (`/admin/v1`)")
	section, _, _ = strings.Cut(section, "\n\n- ")
	var want []string
	// `GET/PUT/DELETE /providers/{name}`, `PUT /prices/{model}[?provider=]`
	for _, m := range regexp.MustCompile("`([A-Z/]+) (/[^`?\\[]*)[^`]*`").FindAllStringSubmatch(section, -1) {
		for _, method := range strings.Split(m[1], "/") {
			want = append(want, method+" "+m[2])
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("routes.go declares\n%s\nthe README lists\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
