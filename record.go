package sessions

import (
	"encoding/binary"
	"errors"
	"time"
)

// A record is what the manager keeps in a store for one session: a small
// fixed header the manager needs on every backend, then the payload the
// codec produced.
//
//	offset size field
//	0      1    format version (recordVersion)
//	1      1    flags (flagPersistent)
//	2      8    absolute deadline, Unix nanoseconds, big endian
//	10     8    store expiry given with this write, Unix nanoseconds
//	18     8    revision counter, reserved for optimistic concurrency (0 today)
//	26     -    payload
type record struct {
	deadline   time.Time
	expires    time.Time // when the store was told to drop this write
	persistent bool
	revision   uint64
	payload    []byte
}

const (
	recordVersion    = 1
	recordHeaderSize = 26
	flagPersistent   = 1 << 0
	knownFlags       = flagPersistent
)

// errBadRecord reports stored bytes that are not a record this version
// understands.
var errBadRecord = errors.New("sessions: malformed session record")

// appendRecord appends the encoding of r to dst.
func appendRecord(dst []byte, r record) []byte {
	var flags byte
	if r.persistent {
		flags |= flagPersistent
	}
	dst = append(dst, recordVersion, flags)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.deadline.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.expires.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, r.revision)
	return append(dst, r.payload...)
}

// parseRecord decodes b. The payload aliases b.
func parseRecord(b []byte) (record, error) {
	if len(b) < recordHeaderSize || b[0] != recordVersion || b[1]&^knownFlags != 0 {
		return record{}, errBadRecord
	}
	return record{
		persistent: b[1]&flagPersistent != 0,
		deadline:   time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))),
		expires:    time.Unix(0, int64(binary.BigEndian.Uint64(b[10:18]))),
		revision:   binary.BigEndian.Uint64(b[18:26]),
		payload:    b[recordHeaderSize:],
	}, nil
}
