package fsstore

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"path/filepath"
)

// The layout of the directory. A record lives in dir/sXX/<name>: XX, two
// hex digits, are the low byte of the CRC-32C of its key, so the records
// spread evenly over 256 shard directories whatever the keys look like.
//
// <name> is the key itself when the key is a plain name: 1 to 200 bytes of
// ASCII letters, digits, '-', '_' and ':', not starting with ':'. Each ':'
// is written as '.', which no plain name contains, so the manager's keys
// ("session:" and 43 base64url characters) need no hashing. Any other key,
// and every key on a case-insensitive file system or on Windows, is named
// '=' followed by the hex SHA-256 of the key. Names never start with '.':
// those are the shard's lock file (.lock) and temporary files (.tmp-*).
const (
	shardCount   = 256
	shardPrefix  = "s"
	maxPlainLen  = 200
	hashedPrefix = '='
	lockName     = ".lock"
)

var shardNames = func() (names [shardCount]string) {
	for i := range names {
		names[i] = shardPrefix + hex.EncodeToString([]byte{byte(i)})
	}
	return names
}()

// location is where the record of a key lives.
type location struct {
	shard int
	dir   string // dir/sXX
	file  string // dir/sXX/<name>
}

// locate returns the location of key's record, given the shard
// directories. With hashAll, every key gets a hashed name.
func locate(shardDirs []string, key string, hashAll bool) location {
	shard := int(crc32.Checksum(bytesOfString(key), castagnoli) % shardCount)
	dir := shardDirs[shard]
	plain := !hashAll && isPlain(key)
	n := len(key)
	if !plain {
		n = 1 + 2*sha256.Size
	}
	b := make([]byte, 0, len(dir)+1+n)
	b = append(b, dir...)
	b = append(b, filepath.Separator)
	if plain {
		for i := 0; i < len(key); i++ {
			c := key[i]
			if c == ':' {
				c = '.'
			}
			b = append(b, c)
		}
	} else {
		sum := sha256.Sum256(bytesOfString(key))
		b = append(b, hashedPrefix)
		b = hex.AppendEncode(b, sum[:])
	}
	return location{shard: shard, dir: dir, file: string(b)}
}

// isPlain reports whether key can be used as a file name as it is (with
// ':' as '.').
func isPlain(key string) bool {
	if len(key) == 0 || len(key) > maxPlainLen || key[0] == ':' {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !plainByte[key[i]] {
			return false
		}
	}
	return true
}

var plainByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':'
	}
	return t
}()

// isRecordName reports whether name, in a shard directory, is the name of
// a record file.
func isRecordName(name string) bool {
	return name != "" && name[0] != '.'
}

// shardOf returns the shard whose directory is named name, or -1.
func shardOf(name string) int {
	if len(name) != 3 || name[:1] != shardPrefix {
		return -1
	}
	b, err := hex.DecodeString(name[1:])
	if err != nil || name[1:] != hex.EncodeToString(b) {
		return -1
	}
	return int(b[0])
}
