package fsstore

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
)

// Name prefix of temporary files. Record names never start with a dot.
const tempPrefix = ".tmp-"

// writeTemp writes r to a new temporary file (mode 0600) in dir, creating
// dir if needed, and returns the file's name. The file is flushed to
// stable storage when d syncs.
func (d *disk) writeTemp(dir string, r record) (name string, err error) {
	f, err := createTemp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		f, err = createTemp(dir)
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(encode(r))
	if err == nil && d.sync {
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

// readGuess is how much readFile reads at first: a whole record of a
// typical session in one system call.
const readGuess = 4096

var readBuffers = sync.Pool{New: func() any { return new([readGuess]byte) }}

// readFile returns the content of the file at path. A record of up to
// readGuess bytes takes three system calls, an open, a read and a close:
// the header says how long the record is, so no read is spent to find the
// end of the file (a record file never changes once it has its name).
func readFile(path string) ([]byte, error) {
	f, err := openReader(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	buf := readBuffers.Get().(*[readGuess]byte)
	defer readBuffers.Put(buf)
	n, err := f.Read(buf[:])
	if err == nil && n < headerSize {
		var m int
		m, err = io.ReadAtLeast(f, buf[n:], headerSize-n)
		n += m
	}
	if err = ignoreEOF(err); err != nil {
		return nil, err
	}
	want := n
	if _, k := decodeHeader(buf[:n]); k == kindCurrent {
		want = headerSize + dataLen(buf[:])
	}
	switch {
	case want < n || want == n && n < readGuess:
		// All of it, or more than the header says: decode rejects that.
		return bytes.Clone(buf[:n]), nil
	case want > n:
		// A long record: check the length against the file before
		// trusting it with an allocation.
		size, err := f.size()
		if err != nil {
			return nil, err
		}
		if size != int64(want) {
			return bytes.Clone(buf[:n]), nil
		}
	}
	out := make([]byte, want, want+1)
	copy(out, buf[:n])
	if _, err := io.ReadFull(f, out[n:]); err != nil {
		return out[:n], ignoreEOF(err)
	}
	// Make sure nothing follows.
	if m, _ := f.Read(out[want : want+1]); m > 0 {
		return out[:want+1], nil
	}
	return out, nil
}

// ignoreEOF returns err unless it reports the end of the file.
func ignoreEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}
