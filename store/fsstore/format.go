package fsstore

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"time"

	"github.com/sessionkit/sessions/store"
)

// The file format, version 2. All integers are big-endian.
//
//	offset  size  content
//	0       7     magic "sesskit"
//	7       1     format version (2)
//	8       8     expiry, Unix nanoseconds (signed)
//	16      8     record version (store.Version, never zero)
//	24      4     length of the data
//	28      4     CRC-32C of bytes 8 to 27 and of the data
//	32      n     data
//
// Version 1, written before records had versions, had the expiry at the
// same offset, the length at 16, a CRC-32C of the data alone at 20 and the
// data at 24. Such files read as absent; cleanup removes them once they
// expire.
const (
	magic         = "sesskit"
	formatVersion = 2
	headerSize    = 32
	maxDataLen    = math.MaxUint32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is the content of a file.
type record struct {
	exp  int64 // Unix nanoseconds
	ver  store.Version
	data []byte
}

// expired reports whether r has expired at t.
func (r record) expired(t time.Time) bool { return t.UnixNano() >= r.exp }

// encode returns the file content for r. len(r.data) must not exceed
// maxDataLen.
func encode(r record) []byte {
	b := make([]byte, headerSize, headerSize+len(r.data))
	copy(b, magic)
	b[7] = formatVersion
	binary.BigEndian.PutUint64(b[8:], uint64(r.exp))
	binary.BigEndian.PutUint64(b[16:], uint64(r.ver))
	binary.BigEndian.PutUint32(b[24:], uint32(len(r.data)))
	binary.BigEndian.PutUint32(b[28:], checksum(b, r.data))
	return append(b, r.data...)
}

// checksum returns the CRC-32C of the header fields it covers and of data.
func checksum(header, data []byte) uint32 {
	return crc32.Update(crc32.Checksum(header[8:28], castagnoli), castagnoli, data)
}

// kind is what decodeHeader learns from the start of a file.
type kind int

const (
	kindCurrent kind = iota // this format: the header can be trusted up to the checksum
	kindCorrupt             // too short or not a record: garbage
	kindOlder               // format version 1: the expiry can be read
	kindNewer               // a format this version does not know: leave alone
)

// decodeHeader reads the start of a file: its kind, and the expiry of a
// record of this or the older format.
func decodeHeader(b []byte) (exp int64, k kind) {
	switch {
	case len(b) < 16 || string(b[:7]) != magic || b[7] == 0:
		return 0, kindCorrupt
	case b[7] == 1:
		return int64(binary.BigEndian.Uint64(b[8:])), kindOlder
	case b[7] > formatVersion:
		return 0, kindNewer
	case len(b) < headerSize:
		return 0, kindCorrupt
	}
	return int64(binary.BigEndian.Uint64(b[8:])), kindCurrent
}

// dataLen returns the data length a header of this format announces.
func dataLen(header []byte) int {
	return int(binary.BigEndian.Uint32(header[24:]))
}

// decode parses a whole file. ok is false for anything but a complete
// record of this format. The data aliases b.
func decode(b []byte) (r record, ok bool) {
	exp, k := decodeHeader(b)
	if k != kindCurrent {
		return record{}, false
	}
	data := b[headerSize:]
	ver := store.Version(binary.BigEndian.Uint64(b[16:]))
	if len(data) != dataLen(b) || ver == 0 || checksum(b, data) != binary.BigEndian.Uint32(b[28:]) {
		return record{}, false
	}
	return record{exp: exp, ver: ver, data: data}, true
}
