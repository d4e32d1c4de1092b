package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNoBinariesTracked fails when a compiled executable is committed: a
// stray `go build ./cmd/worker` at the root once put a 38 MB binary into
// git, and the Dockerfile's `COPY . .` would ship it into the build context.
func TestNoBinariesTracked(t *testing.T) {
	root, _ := filepath.Abs("..")
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	magics := map[string][]byte{
		"ELF":    []byte("\x7fELF"),
		"Mach-O": {0xcf, 0xfa, 0xed, 0xfe},
		"PE":     []byte("MZ"),
	}
	for _, name := range bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0}) {
		f, err := os.Open(filepath.Join(root, string(name)))
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		for kind, magic := range magics {
			if bytes.HasPrefix(head[:n], magic) {
				t.Errorf("%s is a tracked %s binary: git rm --cached it and add it to .gitignore", name, kind)
			}
		}
	}
}
