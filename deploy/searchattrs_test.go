package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aether/internal/accounting/contract"
)

// TestComposeRegistersEverySearchAttribute: the compose file's
// temporal-search-attributes job creates every attribute the request
// workflow sets; a missing one fails every workflow start that uses it.
func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docker-compose.temporal.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range contract.SearchAttributes {
		if !strings.Contains(string(b), sa.Name+"="+sa.Type) {
			t.Errorf("docker-compose.temporal.yml does not create search attribute %s=%s", sa.Name, sa.Type)
		}
	}
}
