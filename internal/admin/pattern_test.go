package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAdminModelPatterns: a pattern is created, read (its name escaped in
// the path), priced and exported through the admin API like any model,
// and a malformed pattern is refused with its field.
func TestAdminModelPatterns(t *testing.T) {
	t.Parallel()
	_, a := newAdmin(t)
	if code, _, body := a.do("POST", "/models", `{"name":"o[0-9]*","routes":[{"provider":"p-openai"}]}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	path := "/models/" + url.PathEscape("o[0-9]*")
	code, v, body := a.do("GET", path, nil)
	if code != http.StatusOK || v["name"] != "o[0-9]*" {
		t.Fatalf("get %s: %d %s", path, code, body)
	}
	if routes, _ := v["routes"].([]any); len(routes) != 1 || routes[0].(map[string]any)["upstream_model"] != nil {
		t.Fatalf("a pattern's route passes the requested name on (no upstream_model): %s", body)
	}
	if code, _, body := a.do("PUT", "/prices/"+url.PathEscape("o[0-9]*"), `{"input":2,"output":8}`); code != http.StatusOK {
		t.Fatalf("price: %d %s", code, body)
	}
	code, v, _ = a.do("POST", "/models", `{"name":"claude-[","routes":[{"provider":"p-openai"}]}`)
	if code != http.StatusBadRequest || !strings.Contains(strings.Join(fields(v), ","), "name") {
		t.Fatalf("bad pattern: %d %v", code, v)
	}
	req, _ := http.NewRequest("GET", a.url+"/admin/v1/config/export", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if y := sb.String(); !strings.Contains(y, "o[0-9]*") {
		t.Fatalf("export lacks the pattern:\n%s", y)
	}
	if code, _, body := a.do("DELETE", path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
}
