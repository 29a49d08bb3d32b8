//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package grant

// lockFile is a no-op where flock is not available: FileStore then
// serialises saves within one process only, and the file must not be shared
// between processes.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
