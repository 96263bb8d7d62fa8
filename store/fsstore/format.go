package fsstore

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"time"
)

// The file format, version 1. All integers are big-endian.
//
//	offset  size  content
//	0       7     magic "sesskit"
//	7       1     format version
//	8       8     expiry, Unix nanoseconds (signed)
//	16      4     length of the data
//	20      4     CRC-32C of the data
//	24      n     data
const (
	magic      = "sesskit"
	version    = 1
	headerSize = 24
	maxDataLen = math.MaxUint32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is the content of a file.
type record struct {
	exp  int64 // Unix nanoseconds
	data []byte
}

// expired reports whether r has expired at t.
func (r record) expired(t time.Time) bool { return t.UnixNano() >= r.exp }

// encode returns the file content for r. len(r.data) must not exceed
// maxDataLen.
func encode(r record) []byte {
	b := make([]byte, headerSize, headerSize+len(r.data))
	copy(b, magic)
	b[7] = version
	binary.BigEndian.PutUint64(b[8:], uint64(r.exp))
	binary.BigEndian.PutUint32(b[16:], uint32(len(r.data)))
	binary.BigEndian.PutUint32(b[20:], crc32.Checksum(r.data, castagnoli))
	return append(b, r.data...)
}

// header is what decodeHeader learns from the start of a file.
type header int

const (
	headerValid   header = iota
	headerCorrupt        // too short or not a record: garbage
	headerNewer          // a format this version does not know: leave alone
)

// decodeHeader reads the expiry from the first headerSize bytes of b.
func decodeHeader(b []byte) (exp int64, h header) {
	switch {
	case len(b) < headerSize || string(b[:7]) != magic:
		return 0, headerCorrupt
	case b[7] != version:
		return 0, headerNewer
	}
	return int64(binary.BigEndian.Uint64(b[8:])), headerValid
}

// decode parses a whole file. ok is false for anything but a complete
// record of this format.
func decode(b []byte) (r record, ok bool) {
	exp, h := decodeHeader(b)
	if h != headerValid {
		return record{}, false
	}
	data := b[headerSize:]
	if uint64(len(data)) != uint64(binary.BigEndian.Uint32(b[16:])) ||
		crc32.Checksum(data, castagnoli) != binary.BigEndian.Uint32(b[20:]) {
		return record{}, false
	}
	return record{exp: exp, data: data}, true
}
