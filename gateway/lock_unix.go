//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package gateway

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path without waiting, so two
// gateways never share a spool: their frames would interleave and each would
// ship and truncate the other's records.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
