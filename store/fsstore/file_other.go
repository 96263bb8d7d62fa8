//go:build !unix

package fsstore

import "os"

// A reader is a file open for reading.
type reader struct{ *os.File }

// openReader opens the file at path for reading.
func openReader(path string) (reader, error) {
	f, err := os.Open(path)
	return reader{f}, err
}

// size returns the size of the file.
func (r reader) size() (int64, error) {
	info, err := r.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func (r reader) close() { r.Close() }

// createTemp creates a new file (mode 0600) in dir with a name starting
// with tempPrefix and opens it for writing.
func createTemp(dir string) (*os.File, error) {
	return os.CreateTemp(dir, tempPrefix+"*")
}
