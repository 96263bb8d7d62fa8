//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || solaris || windows)

package fsstore

import "os"

// A lockFile is an open lock file.
type lockFile struct{ f *os.File }

// openLockFile opens the lock file at path, creating it if needed.
func openLockFile(path string) (lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	return lockFile{f}, err
}

// tryLock reports success: this system has no advisory file lock that the
// package uses, so only the goroutines of one process exclude each other.
func (l lockFile) tryLock() (bool, error) { return true, nil }

// release closes the file.
func (l lockFile) release() { l.f.Close() }
