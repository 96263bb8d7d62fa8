//go:build unix

package fsstore

import (
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// A reader is a file open for reading: a bare descriptor. An os.File would
// also try to add a regular file to the network poller and fail, which
// costs five system calls more per open on Linux: more than the open, read
// and close of a Load together.
type reader struct{ fd int }

// openReader opens the file at path for reading.
func openReader(path string) (reader, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		switch err {
		case nil:
			return reader{fd}, nil
		case syscall.EINTR:
			continue
		}
		return reader{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
}

// Read reads into p, returning io.EOF at the end of the file.
func (r reader) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(r.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// size returns the size of the file.
func (r reader) size() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(r.fd, &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

func (r reader) close() { syscall.Close(r.fd) }

// createTemp creates a new file (mode 0600) in dir with a name starting
// with tempPrefix and opens it for writing, as os.CreateTemp does, but in
// two system calls instead of seven: os.NewFile of a blocking descriptor
// does not try the poller.
func createTemp(dir string) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, tempPrefix+strconv.FormatUint(rand.Uint64(), 36))
		fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), name), nil
		case syscall.EEXIST, syscall.EINTR:
			continue
		}
		return nil, &fs.PathError{Op: "createtemp", Path: name, Err: err}
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, tempPrefix+"*"), Err: fs.ErrExist}
}
