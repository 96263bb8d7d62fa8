//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || solaris

package fsstore

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// A lockFile is an open lock file: a bare descriptor (see reader).
type lockFile struct{ fd int }

// openLockFile opens the lock file at path, creating it if needed.
func openLockFile(path string) (lockFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
		switch err {
		case nil:
			return lockFile{fd}, nil
		case syscall.EINTR:
			continue
		}
		return lockFile{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
}

// tryLock takes an exclusive flock on the file without waiting and reports
// whether it got it. flock locks belong to the open file, so two opens in
// one process exclude each other too.
func (l lockFile) tryLock() (bool, error) {
	for {
		err := unix.Flock(l.fd, unix.LOCK_EX|unix.LOCK_NB)
		switch err {
		case nil:
			return true, nil
		case unix.EWOULDBLOCK:
			return false, nil
		case unix.EINTR:
			continue
		}
		return false, &fs.PathError{Op: "flock", Err: err}
	}
}

// release closes the file, which releases the lock: the descriptor is its
// only one.
func (l lockFile) release() { syscall.Close(l.fd) }
