package memcachedstore

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"time"
)

// A stored value is a header followed by the record's data. The header is
// a format byte, the record's exact deadline in Unix nanoseconds, the ID
// of the write that stored it and the generation it belongs to (see
// Clear), all big endian:
//
//	format 3 | deadline (8 bytes) | write ID (8 bytes) | generation (8 bytes) | data
//
// The write ID is the record's version. Formats 2 (no generation: the
// first, 0) and 1 (no write ID either), written by earlier versions of
// this package, are still read.
const (
	format      = 3
	headerLen   = 1 + 8 + 8 + 8
	formatV2    = 2
	headerLenV2 = 1 + 8 + 8
	formatV1    = 1
	headerLenV1 = 1 + 8
)

// idBit is set in every write ID and in no CAS id this package accepts, so
// write IDs never meet the CAS ids that are the versions of format 1
// values.
const idBit = 1 << 63

// maxRelative is the longest expiration memcached reads as relative
// seconds; larger values are absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// maxDeadline is the latest expiry the header can hold (year 2262).
var maxDeadline = time.Unix(0, math.MaxInt64)

// genBits is how many low bits of a write ID are those of the generation
// it was written in (SameGeneration); the others are random.
const (
	genBits = 16
	genMask = 1<<genBits - 1
)

// newWriteID returns a random write ID of generation gen: idBit, 47 random
// bits and the low bits of gen.
func newWriteID(gen uint64) uint64 { return rand.Uint64()&^genMask | idBit | gen&genMask }

// encode returns a new value holding expiresAt, a copy of data, and a
// write ID of generation gen, which it also returns.
func encode(data []byte, expiresAt time.Time, gen uint64) ([]byte, uint64) {
	v := make([]byte, headerLen+len(data))
	v[0] = format
	ns := int64(math.MaxInt64)
	if expiresAt.Before(maxDeadline) {
		ns = expiresAt.UnixNano()
	}
	binary.BigEndian.PutUint64(v[1:9], uint64(ns))
	copy(v[headerLen:], data)
	return v, stamp(v, gen)
}

// stamp gives the encoded value v a new write ID of generation gen, and
// returns the ID.
func stamp(v []byte, gen uint64) uint64 {
	id := newWriteID(gen)
	binary.BigEndian.PutUint64(v[9:17], id)
	binary.BigEndian.PutUint64(v[17:25], gen)
	return id
}

// A header is what decode reads from the front of a value.
type header struct {
	deadline int64  // Unix nanoseconds
	id       uint64 // the write ID; 0 in format 1
	gen      uint64 // the generation; 0 in formats 1 and 2
}

// live reports whether the record is live at now.
func (h header) live(now time.Time) bool { return now.UnixNano() < h.deadline }

// decode splits the value v into its header and data, and returns false
// when v is too short or not in a format of this package.
func decode(v []byte) (header, []byte, bool) {
	switch {
	case len(v) >= headerLen && v[0] == format:
		h := header{int64(binary.BigEndian.Uint64(v[1:9])), binary.BigEndian.Uint64(v[9:17]), binary.BigEndian.Uint64(v[17:25])}
		return h, v[headerLen:], true
	case len(v) >= headerLenV2 && v[0] == formatV2:
		h := header{deadline: int64(binary.BigEndian.Uint64(v[1:9])), id: binary.BigEndian.Uint64(v[9:17])}
		return h, v[headerLenV2:], true
	case len(v) >= headerLenV1 && v[0] == formatV1:
		return header{deadline: int64(binary.BigEndian.Uint64(v[1:9]))}, v[headerLenV1:], true
	}
	return header{}, nil, false
}

// decodeLive returns the header and data of the value v, and false when v
// is expired at now, of a generation before gen (a Clear ended it), too
// short, or not in a format of this package.
func decodeLive(v []byte, now time.Time, gen uint64) (header, []byte, bool) {
	h, data, ok := decode(v)
	if !ok || !h.live(now) || h.gen < gen {
		return header{}, nil, false
	}
	return h, data, true
}

// ttlSlack is how long memcached is told to keep an item past its
// deadline, on top of rounding the time left up to whole seconds.
//
// Memcached's clock ticks once a second, so an item whose expiration is n
// seconds normally goes between n-1 and n seconds after it was stored
// (measured on memcached 1.6.18); when the server is short of CPU its clock
// lags and items go earlier (seen in tests: gone 1.4 s before an expiration
// with 1 s of slack). Reads and conditional writes check the exact
// deadline in the header, so the slack costs only memory.
const ttlSlack = 5 * time.Second

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
