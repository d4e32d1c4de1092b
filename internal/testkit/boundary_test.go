// Package testkit holds the tooling that exists only to test or run the
// stack locally: the simulated upstream, test harnesses, the local Postgres
// and Temporal servers. Product code never imports it; the test below fails
// when it does.
package testkit

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// readSources reads every Go file of the module, once per test binary. The
// checks below ask `go list`, whose reads go test cannot see; reading the
// files here makes them part of the test's cache key, so a cached pass never
// hides a new import.
func readSources(t *testing.T) {
	t.Helper()
	if err := sourcesRead(); err != nil {
		t.Fatal(err)
	}
}

var sourcesRead = sync.OnceValue(func() error {
	return filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".dev" || d.Name() == "bin" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			_, err = os.ReadFile(path)
		}
		return err
	})
})

// tooling are the import-path prefixes of test and dev tooling.
var tooling = []string{
	"aether/internal/testkit",
	"aether/internal/devstack",
	"aether/internal/e2e",
	"aether/cmd/devstack",
	"aether/cmd/prodstack",
	"aether/cmd/fakeupstream",
}

func isTooling(path string) bool {
	for _, p := range tooling {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// TestProductDoesNotImportTooling lists every package of the module and
// fails when a product package (its non-test files) depends on tooling,
// directly or through another package.
func TestProductDoesNotImportTooling(t *testing.T) {
	readSources(t)
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "aether/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	checked := 0
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if isTooling(p.ImportPath) {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if isTooling(d) {
				t.Errorf("product package %s depends on tooling %s", p.ImportPath, d)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d product packages listed; the check is not looking at the module", checked)
	}
}

func TestIsTooling(t *testing.T) {
	for path, want := range map[string]bool{
		"aether/internal/testkit/fakeupstream": true,
		"aether/internal/devstack":             true,
		"aether/internal/testkitchen":          false,
		"aether/internal/proxy":                false,
		"aether/cmd/api":                       false,
	} {
		if got := isTooling(path); got != want {
			t.Errorf("isTooling(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestAPIDoesNotLinkWorker fails when the API binary depends on the
// worker's code: the API talks to the request workflow only through the
// accounting contract (internal/accounting/contract), never by linking the
// workflow or the activities that write to Postgres.
func TestAPIDoesNotLinkWorker(t *testing.T) {
	readSources(t)
	out, err := exec.Command("go", "list", "-deps", "aether/cmd/api").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps aether/cmd/api listed only %d packages", len(deps))
	}
	for _, d := range deps {
		if d == "aether/workflows" || d == "aether/activities" {
			t.Errorf("aether/cmd/api depends on %s", d)
		}
	}
}
