package memcachedstore

import (
	"encoding/binary"
	"math"
	"time"
)

// A stored value is a header followed by the record's data. The header is
// a format byte and the absolute expiry in Unix nanoseconds (big endian),
// which Load checks exactly; memcached's own expiry only frees the memory.
const (
	format    = 1
	headerLen = 1 + 8
)

// maxRelative is the longest expiration memcached reads as relative
// seconds; larger values are absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// maxDeadline is the latest expiry the header can hold (year 2262).
var maxDeadline = time.Unix(0, math.MaxInt64)

// encode returns a new value holding expiresAt and a copy of data.
func encode(data []byte, expiresAt time.Time) []byte {
	v := make([]byte, headerLen+len(data))
	v[0] = format
	putDeadline(v, expiresAt)
	copy(v[headerLen:], data)
	return v
}

// putDeadline writes expiresAt into the header of the value v.
func putDeadline(v []byte, expiresAt time.Time) {
	ns := int64(math.MaxInt64)
	if expiresAt.Before(maxDeadline) {
		ns = expiresAt.UnixNano()
	}
	binary.BigEndian.PutUint64(v[1:headerLen], uint64(ns))
}

// decode returns the data in the value v, and false when v is expired at
// now, too short, or not in this package's format.
func decode(v []byte, now time.Time) ([]byte, bool) {
	if len(v) < headerLen || v[0] != format {
		return nil, false
	}
	if now.UnixNano() >= int64(binary.BigEndian.Uint64(v[1:headerLen])) {
		return nil, false
	}
	return v[headerLen:], true
}

// ttlSlack is how long memcached keeps an item past its deadline.
//
// Memcached's clock ticks once a second from a timer, so an item can go up
// to a second before its expiration, and more when the server is short of
// CPU (seen in tests: an item with 3 s left gone after 1.1 s). The header
// ends the record exactly on read, so the slack costs only memory.
const ttlSlack = 5 * time.Second

// expiration returns the memcached expiration for a record that must live
// until expiresAt, or false when expiresAt is not after now.
//
// It is the time left plus ttlSlack, in seconds rounded up. Beyond 30 days
// it is an absolute Unix time, as memcached requires; beyond what int32
// holds (2038) it is 0, no expiry, and the header alone ends the record.
func expiration(expiresAt, now time.Time) (int32, bool) {
	d := expiresAt.Sub(now)
	if d <= 0 {
		return 0, false
	}
	d = min(d, math.MaxInt64-ttlSlack) + ttlSlack
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	if secs <= maxRelative {
		return int32(secs), true
	}
	abs := now.Unix() + secs
	if abs > math.MaxInt32 {
		return 0, true
	}
	return int32(abs), true
}
