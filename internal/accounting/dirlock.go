//go:build unix

package accounting

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file a journal holds locked while it is open.
const lockName = "LOCK"

// lockDir takes an exclusive lock on the journal directory, so that two
// processes never share one: each would read, ship and delete the other's
// entries, and requests would go unrecorded. The lock is advisory (flock)
// and the kernel drops it when the process dies, so a crash leaves nothing
// to clean up.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another process; every API replica needs its own AETHER_JOURNAL_DIR", dir)
		}
		return nil, err
	}
	return f, nil
}
