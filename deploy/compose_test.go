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
		Environment: types.Mapping{"AETHER_ENCRYPTION_KEY": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
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

func TestComposeRequiresEncryptionKey(t *testing.T) {
	root, _ := filepath.Abs("..")
	_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.temporal.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("aether", true) })
	if err == nil {
		t.Fatal("compose file loaded without AETHER_ENCRYPTION_KEY")
	}
}
