package memcachedstore

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// hashedPrefix starts every key that had to be hashed.
const hashedPrefix = "#sha256:"

// maxKeyLen is the longest key memcached accepts.
const maxKeyLen = 250

// serverKey maps a store key to a legal memcached key.
//
// The prefixed key is used as is when memcached accepts it: 1 to 250
// bytes, none of them a space, a control byte or DEL. Any other key becomes
// "#sha256:" followed by the unpadded base64url SHA-256 of the prefixed key
// (51 bytes). Prefixed keys that already start with "#sha256:" are hashed
// too, so a key passed through never equals a hashed one, and two keys share
// a server key only if SHA-256 collides.
func (s *Store) serverKey(key string) string {
	k := s.prefix + key
	if legalKey(k) && !strings.HasPrefix(k, hashedPrefix) {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return hashedPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// legalKey reports whether memcached accepts k as a key.
func legalKey(k string) bool {
	if k == "" || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}
