package memcachedstore

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"time"
)

// A stored value is a header followed by the record's data. The header is
// a format byte, the record's exact deadline in Unix nanoseconds and the
// ID of the write that stored it, both big endian:
//
//	format 2 | deadline (8 bytes) | write ID (8 bytes) | data
//
// Load checks the deadline exactly; memcached's own expiry only frees the
// memory. Format 1, written by earlier versions, has no write ID and is
// still read.
const (
	format      = 2
	headerLen   = 1 + 8 + 8
	formatV1    = 1
	headerLenV1 = 1 + 8
)

// idBit is set in every write ID and in no CAS id this package accepts, so
// the versions that are write IDs and those that are CAS ids never meet.
const idBit = 1 << 63

// maxRelative is the longest expiration memcached reads as relative
// seconds; larger values are absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// maxDeadline is the latest expiry the header can hold (year 2262).
var maxDeadline = time.Unix(0, math.MaxInt64)

// newWriteID returns a random write ID: 63 random bits and idBit.
func newWriteID() uint64 { return rand.Uint64() | idBit }

// encode returns a new value holding expiresAt, the write ID id and a copy
// of data.
func encode(data []byte, expiresAt time.Time, id uint64) []byte {
	v := make([]byte, headerLen+len(data))
	v[0] = format
	ns := int64(math.MaxInt64)
	if expiresAt.Before(maxDeadline) {
		ns = expiresAt.UnixNano()
	}
	binary.BigEndian.PutUint64(v[1:9], uint64(ns))
	binary.BigEndian.PutUint64(v[9:17], id)
	copy(v[headerLen:], data)
	return v
}

// decode returns the data in the value v and the ID of the write that
// stored it (0 for format 1), and false when v is expired at now, too
// short, or not in a format of this package.
func decode(v []byte, now time.Time) (data []byte, id uint64, live bool) {
	var n int
	switch {
	case len(v) >= headerLen && v[0] == format:
		n, id = headerLen, binary.BigEndian.Uint64(v[9:17])
	case len(v) >= headerLenV1 && v[0] == formatV1:
		n = headerLenV1
	default:
		return nil, 0, false
	}
	if now.UnixNano() >= int64(binary.BigEndian.Uint64(v[1:9])) {
		return nil, 0, false
	}
	return v[n:], id, true
}

// ttlSlack is how long memcached is told to keep an item past its
// deadline, on top of rounding the time left up to whole seconds.
//
// Memcached's clock ticks once a second, so an item whose expiration is n
// seconds goes between n-1 and n seconds after it was stored (measured on
// memcached 1.6.18, also under heavy load). One second of slack makes
// memcached drop an item between its deadline and 2 seconds after it: never
// before, and as soon after as the one-second clock allows. Reads check the
// exact deadline in the header; the slack matters to writes, see SaveIf.
const ttlSlack = time.Second

// expiration returns the memcached expiration for a record that must live
// until expiresAt, or false when expiresAt is not after now.
//
// It is the time left rounded up to whole seconds, plus ttlSlack. Beyond 30
// days it is an absolute Unix time, as memcached requires; beyond what
// int32 holds (2038) it is 0, no expiry, and the header alone ends the
// record.
func expiration(expiresAt, now time.Time) (int32, bool) {
	d := expiresAt.Sub(now)
	if d <= 0 {
		return 0, false
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	secs += int64(ttlSlack / time.Second)
	if secs <= maxRelative {
		return int32(secs), true
	}
	abs := now.Unix() + secs
	if abs > math.MaxInt32 {
		return 0, true
	}
	return int32(abs), true
}
