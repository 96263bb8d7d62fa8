package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"unsafe"
)

// tokenLen is the length of a session token: 32 random bytes in base64url
// without padding.
const tokenLen = 43

// base64URLAlphabet maps every byte to its base64url value, or 0xff.
var base64URLAlphabet = func() (t [256]byte) {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(chars) {
		t[chars[i]] = byte(i)
	}
	return t
}()

// newToken returns a fresh session token with 256 bits from crypto/rand.
func newToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether s is exactly a token newToken could have
// returned: 43 base64url characters whose last one carries no stray bits.
// Anything else never reaches a store.
func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	for i := range len(s) {
		if base64URLAlphabet[s[i]] == 0xff {
			return false
		}
	}
	// 43 characters hold 258 bits; the last two must be zero.
	return base64URLAlphabet[s[tokenLen-1]]&3 == 0
}

// storeKey derives the store key of token: prefix plus the base64url
// SHA-256 of the token. Read access to a store therefore does not hand out
// live session tokens.
func storeKey(prefix, token string) string {
	// Sum256 only reads the token's bytes.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	b := make([]byte, len(prefix)+tokenLen) // the key's one allocation
	copy(b, prefix)
	base64.RawURLEncoding.Encode(b[len(prefix):], sum[:])
	return unsafe.String(unsafe.SliceData(b), len(b))
}
