package sessions

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A record is what the manager keeps in a store for one session: a small
// header the manager needs on every backend, then the payload the codec
// produced.
//
//	offset size field
//	0      1    format version (recordVersion)
//	1      1    flags (flagPersistent, flagRevoked, flagForward)
//	2      8    absolute deadline, Unix nanoseconds, big endian
//	10     8    store expiry given with this write, Unix nanoseconds
//	18     8    creation time, Unix nanoseconds
//	26     2    length n of the owner, big endian
//	28     n    owner (SetOwner), any bytes
//	28+n   -    payload
//
// A forward (flagForward) is what Renew leaves under the old key: its
// payload is the ID of the renewed session and its owner that session's
// owner. A tombstone (flagRevoked) has no payload. Neither is a session.
//
// Version 1 records (no owner, a reserved counter where the creation time
// is) are still read.
type record struct {
	deadline   time.Time
	expires    time.Time // when the store was told to drop this write
	created    time.Time // zero in version 1 records
	persistent bool
	revoked    bool // a tombstone: the session was ended before its record was written
	forward    bool // the session was renewed: payload is the new session's ID
	owner      string
	payload    []byte
}

const (
	recordVersion    = 2
	recordHeaderSize = 28 // without the owner
	v1HeaderSize     = 26
	flagPersistent   = 1 << 0
	flagRevoked      = 1 << 1
	flagForward      = 1 << 2
	knownFlags       = flagPersistent | flagRevoked | flagForward
	maxOwnerLen      = 4096
)

// errBadRecord reports stored bytes that are not a record this version
// understands.
var errBadRecord = errors.New("sessions: malformed session record")

// recordSize is the size of r's encoding.
func recordSize(owner string, payload []byte) int {
	return recordHeaderSize + len(owner) + len(payload)
}

// appendRecord appends the encoding of r to dst. The owner must be at
// most maxOwnerLen bytes.
func appendRecord(dst []byte, r record) []byte {
	var flags byte
	if r.persistent {
		flags |= flagPersistent
	}
	if r.revoked {
		flags |= flagRevoked
	}
	if r.forward {
		flags |= flagForward
	}
	dst = append(dst, recordVersion, flags)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.deadline.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.expires.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(r.created)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.owner)))
	dst = append(dst, r.owner...)
	return append(dst, r.payload...)
}

// unixNano is t in Unix nanoseconds, with the zero time as 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// parseRecord decodes b. The payload aliases b.
func parseRecord(b []byte) (record, error) {
	if len(b) < v1HeaderSize || b[1]&^knownFlags != 0 {
		return record{}, errBadRecord
	}
	r := record{
		persistent: b[1]&flagPersistent != 0,
		revoked:    b[1]&flagRevoked != 0,
		forward:    b[1]&flagForward != 0,
		deadline:   time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))),
		expires:    time.Unix(0, int64(binary.BigEndian.Uint64(b[10:18]))),
	}
	switch b[0] {
	case 1:
		if r.revoked || r.forward {
			return record{}, errBadRecord
		}
		r.payload = b[v1HeaderSize:]
	case recordVersion:
		if len(b) < recordHeaderSize {
			return record{}, errBadRecord
		}
		if c := int64(binary.BigEndian.Uint64(b[18:26])); c != 0 {
			r.created = time.Unix(0, c)
		}
		n := int(binary.BigEndian.Uint16(b[26:28]))
		if n > maxOwnerLen || len(b) < recordHeaderSize+n {
			return record{}, errBadRecord
		}
		r.owner = string(b[recordHeaderSize : recordHeaderSize+n])
		r.payload = b[recordHeaderSize+n:]
		if r.forward && (r.revoked || !validToken(string(r.payload))) {
			return record{}, errBadRecord
		}
	default:
		return record{}, errBadRecord
	}
	return r, nil
}

// openRecord opens (see WithEncryption) and parses the record stored
// under key.
func (m *Manager[T]) openRecord(key string, stored []byte) (record, error) {
	plain, err := m.opened(kindSession, key, stored)
	if err != nil {
		return record{}, err
	}
	return parseRecord(plain)
}

// openRecordInto is openRecord, opening a sealed record into buf (reset
// first) when buf is not nil: the record's payload then lies in buf.
func (m *Manager[T]) openRecordInto(buf *encodeBuffer, key string, stored []byte) (record, error) {
	if buf == nil || m.cfg.keys == nil {
		return m.openRecord(key, stored)
	}
	buf.Reset()
	if n := openSize(key, stored); n > 0 {
		buf.Grow(n)
	}
	plain, err := m.cfg.keys.open(buf.AvailableBuffer(), kindSession, key, stored)
	if err != nil {
		return record{}, err
	}
	return parseRecord(plain)
}

// sealed returns what the store keeps for plain, a record of the given
// kind under key: plain itself, or with WithEncryption plain sealed under
// the current key, in a new slice.
func (m *Manager[T]) sealed(kind byte, key string, plain []byte) ([]byte, error) {
	if m.cfg.keys == nil {
		return plain, nil
	}
	b, err := m.cfg.keys.seal(kind, key, plain)
	if err != nil {
		return nil, fmt.Errorf("sessions: seal record: %w", err)
	}
	return b, nil
}

// opened returns the record of the given kind that stored holds under
// key: stored itself, or with WithEncryption the record it seals, in a new
// slice. An error says why it does not open, naming its key ID.
func (m *Manager[T]) opened(kind byte, key string, stored []byte) ([]byte, error) {
	if m.cfg.keys == nil {
		if _, ok := sealedBy(stored); ok {
			return nil, errSealedClear
		}
		return stored, nil
	}
	return m.cfg.keys.open(nil, kind, key, stored)
}

// live reports whether r is a session's record, not a tombstone or a
// forward, and before its deadline at now.
func (r record) live(now time.Time) bool {
	return !r.revoked && !r.forward && now.Before(r.deadline)
}
