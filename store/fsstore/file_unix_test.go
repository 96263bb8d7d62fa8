//go:build unix

package fsstore

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The raw reader keeps the io.Reader contract: an empty read is not the
// end of the file, and the end is io.EOF.
func TestReaderContract(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := openReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(empty) = (%d, %v), want (0, nil)", n, err)
	}
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 3 || err != nil || string(buf[:n]) != "abc" {
		t.Errorf("Read = (%d, %v) %q, want (3, nil) \"abc\"", n, err, buf[:n])
	}
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = (%d, %v), want (0, io.EOF)", n, err)
	}
	if _, err := openReader(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("openReader(missing): %v, want not-exist", err)
	}
}
