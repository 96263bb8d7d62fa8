package fsstore

import (
	"errors"
	"io/fs"
	"os"
)

// Name prefixes of files that are not records. Record names are 64 hex
// digits, so they never start with a dot.
const (
	tempPrefix  = ".tmp-"
	trashPrefix = ".trash-"
)

// writeTemp writes r to a new temporary file (mode 0600) in dir, creating
// dir if needed, and returns the file's name. The file is flushed to
// stable storage when s syncs.
func (s *Store) writeTemp(dir string, r record) (name string, err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		f, err = os.CreateTemp(dir, tempPrefix+"*")
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(encode(r))
	if err == nil && s.sync {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// replace moves the temporary file tmp to path, atomically replacing any
// record there, and removes tmp on failure.
func replace(tmp, path string) error {
	if exchanged(tmp, path) {
		os.Remove(tmp) // it now holds the record that was replaced
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
