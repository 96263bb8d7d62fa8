package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sessionkit/sessions/internal/unixtime"
)

// Touch moves the expiry of a live record to expiresAt by rewriting its
// file atomically. A missing, expired or invalid record is left alone.
//
// If a Save or Delete of the same key replaces the file while Touch reads
// and rewrites it, their result stands and the touch is dropped. (The check
// and the final rename are two steps, so a Delete landing in between, a
// window of microseconds, can still be undone.)
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	if err := s.touch(key, expiresAt); err != nil {
		return fmt.Errorf("fsstore: touch: %w", err)
	}
	return nil
}

func (s *Store) touch(key string, expiresAt time.Time) error {
	sub, path := s.path(key)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// f stays open until the end, so its inode cannot be reused by another
	// file and os.SameFile below is reliable.
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	old, err := f.Stat()
	if err != nil {
		return err
	}
	rec, ok := decode(b)
	if !ok || rec.expired(time.Now()) {
		return nil
	}
	rec.exp = unixtime.Nano(expiresAt)
	tmp, err := s.writeTemp(sub, rec)
	if err != nil {
		return err
	}
	cur, err := os.Stat(path)
	if err != nil || !os.SameFile(old, cur) {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return err
	}
	return replace(tmp, path)
}
