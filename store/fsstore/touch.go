package fsstore

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sessionkit/sessions/internal/unixtime"
)

// Touch moves the expiry of a live record to expiresAt by rewriting its
// file atomically, keeping its version; a deadline that has passed removes
// the record. A missing, expired or invalid record is left alone.
//
// Touch never undoes a Save, SaveIf or Delete of the same key that lands
// while it runs: it replaces the file, under the shard lock, only if the
// record still has the version it read, and drops the touch otherwise.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	if err := s.d.touch(ctx, key, expiresAt); err != nil {
		return fmt.Errorf("fsstore: touch: %w", err)
	}
	return nil
}

func (d *disk) touch(ctx context.Context, key string, expiresAt time.Time) error {
	loc := d.locate(key)
	rec, ok, err := readLive(loc.file)
	if !ok || err != nil {
		return err
	}
	read := rec.ver
	rec.exp = unixtime.Nano(expiresAt)
	var tmp string
	if !rec.expired(time.Now()) {
		if tmp, err = d.writeTemp(loc.dir, rec); err != nil {
			return err
		}
	}
	unlock, err := d.lockShard(ctx, loc.shard)
	if err != nil {
		if tmp != "" {
			os.Remove(tmp)
		}
		return err
	}
	defer unlock()
	cur, _, err := readLive(loc.file)
	switch {
	case err != nil || cur.ver != read:
		// Replaced, deleted or expired since: theirs stands.
		if tmp != "" {
			os.Remove(tmp)
		}
		return err
	case tmp == "":
		return ignoreNotExist(os.Remove(loc.file))
	}
	return replace(tmp, loc.file)
}
