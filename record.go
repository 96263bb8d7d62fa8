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
//	26     8    time of authentication (SetOwner, Reauthenticated), Unix
//	            nanoseconds; 0 for never
//	34     8    time of this write, Unix nanoseconds: the last request
//	            that changed the session or slid its idle expiry
//	42     2    length n of the owner, big endian
//	44     n    owner (SetOwner), any bytes
//	44+n   -    payload
//
// A forward (flagForward) is what Renew leaves under the old key: its
// payload is the ID of the renewed session and its owner that session's
// owner. A tombstone (flagRevoked) has no payload. Neither is a session.
//
// Version 2 records (no time of authentication, no time of writing: read
// as never authenticated, last seen unknown) and version 1 records (no
// owner either, a reserved counter where the creation time is) are still
// read.
type record struct {
	deadline   time.Time
	expires    time.Time // when the store was told to drop this write
	created    time.Time // zero in version 1 records
	authAt     time.Time // when the owner last authenticated; zero for never (and in older records)
	seen       time.Time // when the record was written; zero in older records
	persistent bool
	revoked    bool // a tombstone: the session was ended before its record was written
	forward    bool // the session was renewed: payload is the new session's ID
	owner      string
	payload    []byte
}

const (
	recordVersion    = 3
	recordHeaderSize = 44 // without the owner
	v2HeaderSize     = 28
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
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(r.authAt)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(r.seen)))
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

// timeOf reads 8 bytes of Unix nanoseconds, with 0 as the zero time.
func timeOf(b []byte) time.Time {
	if ns := int64(binary.BigEndian.Uint64(b)); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
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
	case 2, recordVersion:
		header := v2HeaderSize
		if b[0] == recordVersion {
			header = recordHeaderSize
		}
		if len(b) < header {
			return record{}, errBadRecord
		}
		r.created = timeOf(b[18:26])
		if b[0] == recordVersion {
			r.authAt, r.seen = timeOf(b[26:34]), timeOf(b[34:42])
		}
		n := int(binary.BigEndian.Uint16(b[header-2 : header]))
		if n > maxOwnerLen || len(b) < header+n {
			return record{}, errBadRecord
		}
		r.owner = string(b[header : header+n])
		r.payload = b[header+n:]
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
	return openRecord(m.cfg.keys, key, stored)
}

// openRecord is Manager.openRecord for a manager whose WithEncryption
// keys are keys (nil without): for code that is not generic.
func openRecord(keys sealer, key string, stored []byte) (record, error) {
	plain, err := openStored(keys, kindSession, key, stored)
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
	b, err := m.cfg.keys.seal(make([]byte, 0, len(plain)+sealedOverhead), kind, key, plain)
	if err != nil {
		return nil, fmt.Errorf("sessions: seal record: %w", err)
	}
	return b, nil
}

// opened returns the record of the given kind that stored holds under
// key: stored itself, or with WithEncryption the record it seals, in a new
// slice. An error says why it does not open, naming its key ID.
func (m *Manager[T]) opened(kind byte, key string, stored []byte) ([]byte, error) {
	return openStored(m.cfg.keys, kind, key, stored)
}

// openStored is Manager.opened for a manager whose WithEncryption keys
// are keys (nil without).
func openStored(keys sealer, kind byte, key string, stored []byte) ([]byte, error) {
	if keys == nil {
		if _, ok := sealedBy(stored); ok {
			return nil, errSealedClear
		}
		return stored, nil
	}
	return keys.open(kind, key, stored)
}

// live reports whether r is a session's record, not a tombstone or a
// forward, and before its deadline at now.
func (r record) live(now time.Time) bool {
	return !r.revoked && !r.forward && now.Before(r.deadline)
}
