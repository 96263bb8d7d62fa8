//go:build windows

package fsstore

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// A lockFile is an open lock file.
type lockFile struct{ f *os.File }

// openLockFile opens the lock file at path, creating it if needed.
func openLockFile(path string) (lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	return lockFile{f}, err
}

// tryLock locks the first byte of the file exclusively without waiting and
// reports whether it got it.
func (l lockFile) tryLock() (bool, error) {
	err := windows.LockFileEx(windows.Handle(l.f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return false, nil
	}
	return false, err
}

// release unlocks and closes the file: Windows may release the lock of a
// closed handle only later.
func (l lockFile) release() {
	windows.UnlockFileEx(windows.Handle(l.f.Fd()), 0, 1, 0, new(windows.Overlapped))
	l.f.Close()
}
