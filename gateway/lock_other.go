//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package gateway

import "os"

// lockDir creates the lock file but cannot lock it where flock is missing:
// on such platforms, make sure each gateway has its own spool directory.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
