// Package deploy holds deployment artifacts; this test validates the
// Docker Compose file with compose-go, the loader `docker compose config`
// itself uses (the compose plugin cannot be installed on the build machine).
package deploy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

func TestComposeFileValidates(t *testing.T) {
	root, _ := filepath.Abs("..")
	file := filepath.Join(root, "docker-compose.temporal.yml")
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: file}},
		Environment: types.Mapping{"AETHER_ENCRYPTION_KEY": testKey, "AETHER_ADMIN_TOKEN": testToken},
	}, func(o *loader.Options) { o.SetProjectName("aether", true) })
	if err != nil {
		t.Fatalf("compose file does not validate: %v", err)
	}
	want := []string{"postgres", "temporal", "temporal-search-attributes", "temporal-ui", "worker", "api", "fakeupstream"}
	for _, name := range want {
		if _, err := project.GetService(name); err != nil {
			t.Errorf("service %s missing: %v", name, err)
		}
	}
	api, _ := project.GetService("api")
	if api.Build == nil || api.Build.Dockerfile != "Dockerfile" {
		t.Errorf("api is not built from the Dockerfile: %+v", api.Build)
	}
}

const (
	testKey   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testToken = "5f0c9e2a7b4d81e6c3a9f7d2b0e4c6a8"
)

// TestComposeRequiresSecrets: the file refuses to start without the
// encryption key or the admin token; neither has a default (issue 8: a
// default admin token is a public one).
func TestComposeRequiresSecrets(t *testing.T) {
	root, _ := filepath.Abs("..")
	for _, env := range []types.Mapping{
		{},
		{"AETHER_ADMIN_TOKEN": testToken},
		{"AETHER_ENCRYPTION_KEY": testKey},
	} {
		_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  root,
			ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.temporal.yml")}},
			Environment: env,
		}, func(o *loader.Options) { o.SetProjectName("aether", true) })
		if err == nil {
			t.Errorf("compose file loaded with only %v", env)
		}
	}
}
