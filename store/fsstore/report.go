package fsstore

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/sessionkit/sessions/store"
)

var _ store.ExpiredReporter = (*Store)(nil)

// ReportExpired implements store.ExpiredReporter: fn is called with the
// key and a copy of the data of each expired record the background
// cleanup or DeleteExpired removes, after removing it, until stop is
// called. Records whose file is named by a hash of their key (keys that
// are not plain names, or every key on a case-insensitive file system or
// Windows) and damaged files are removed without a report: their key
// cannot be known.
func (s *Store) ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	return s.d.rep.Register(func(ctx context.Context, key string, data []byte) {
		fn(ctx, key, bytes.Clone(data))
	}, s.d.sweepReported)
}

// sweepReported is deleteExpired while a function is registered: it
// reports the records it removes at the end of the pass, outside the
// shard locks. Only ReportExpired reaches it.
func (d *disk) sweepReported(ctx context.Context) (int, error) {
	var removed []expiredRecord
	n, err := d.clean(ctx, func(path, name string) func() {
		r, ok := d.expiredRecord(path, name)
		if !ok {
			return nil
		}
		return func() { removed = append(removed, r) }
	})
	for _, r := range removed {
		d.rep.Report(ctx, r.key, r.data)
	}
	return n, err
}

// An expiredRecord is a record the cleanup removed, for the reporters.
type expiredRecord struct {
	key  string
	data []byte
}

// expiredRecord reads the expired record in the file name at path before
// the cleanup removes it: ok is false when the file's key or data cannot
// be known.
func (d *disk) expiredRecord(path, name string) (r expiredRecord, ok bool) {
	if name[0] == hashedPrefix {
		return expiredRecord{}, false
	}
	b, err := readFile(path)
	if err != nil {
		return expiredRecord{}, false
	}
	rec, ok := decode(b)
	if !ok || !rec.expired(time.Now()) {
		return expiredRecord{}, false
	}
	return expiredRecord{key: strings.ReplaceAll(name, ".", ":"), data: rec.data}, true
}
