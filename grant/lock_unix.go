//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package grant

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created 0600), so two
// processes saving the same ring serialise their compare-and-set.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
