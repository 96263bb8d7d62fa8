package sessions

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// WithEncryption seals every record the manager writes (session values,
// their owners and headers, the forwards and tombstones of the lifecycle,
// and the owner indexes) with XAES-256-GCM under current, a 32-byte
// key, and opens records sealed under current or any of previous. Give
// keys from crypto/rand (such as `openssl rand -base64 32`, decoded); a key
// of another length makes New fail with an error wrapping
// ErrInvalidConfig. A key's ID, which records carry and log lines name, is
// derived from the key (a hash; never key material), so keys need no
// names. Giving one key twice is harmless.
//
// A record is bound to its store key (and to what it is: a session record
// or an owner index) as authenticated data, so a record copied under
// another key does not open. A record that does not open (tampered with,
// sealed under a key no longer configured, or written in the clear before
// encryption was turned on) is a missing session: the request gets a fresh
// one, a log line names the record's key ID, and the record is deleted.
// Turning encryption on therefore starts every stored session afresh, and
// so does turning it off: a store that can be written to cannot plant a
// session value in the clear.
//
// Rotation signs nobody out. A record under a previous key opens, and its
// next write seals it under current; Manager.Rekey reseals the rest. Across
// several processes: deploy the new key as a previous key everywhere, then
// make it current everywhere (the old one previous), run Rekey, and only
// then drop the old key. On a store that cannot list keys (memcached),
// keep the old key for the session lifetime (WithLifetime) after the
// switch instead.
//
// Why XAES-256-GCM (c2sp.org/XAES-256-GCM): its nonces are 24 bytes, so
// every process can draw its own at random and after 2^40 writes under one
// key the chance that two records share a nonce stays negligible (below
// 2^-90), where AES-GCM's 12-byte random nonces reach 2^-17 (NIST limits
// them to 2^32 messages per key). Each record is sealed with AES-256-GCM
// under a subkey derived from the key and the nonce's first half, with the
// standard library's AES (AES-NI where the CPU has it) and nothing else.
// A process seals runs of up to 2^20 records under one random first half
// (with second halves counting from a random start) and caches the
// subkeys of the first halves it meets, so a request pays for AES-256-GCM
// alone, not for a new key schedule (see xaes). XChaCha20-Poly1305 has the
// same nonce property, but golang.org/x/crypto would link its ciphers and
// golang.org/x/sys/cpu into every program, encrypting or not. Each record
// costs 45 bytes: a format byte, the 4-byte key ID, the nonce and a 16-byte
// tag.
//
// With the built-in codecs, a request through Middleware keeps the
// record it opened in a pooled buffer, handed back when Middleware
// returns, so that encryption costs no allocation. A session used after that, from a goroutine the handler
// left running, has lost what it loaded: Update still saves it, but where
// another request wrote meanwhile it fails with an error wrapping
// ErrSessionChanged instead of merging the two.
//
// The owner index's store key stays the SHA-256 of the owner, so that it
// survives key rotation (a keyed hash would have to move every index at
// each rotation). Someone who reads the store can therefore test whether
// a guessed owner (a user ID, an email address) has sessions, and
// estimate how many from the index's size; the owner and the session IDs
// themselves are sealed. See README, "Encryption at rest".
func WithEncryption(current []byte, previous ...[]byte) Option {
	k, err := newKeyring(current, previous)
	return func(c *config) error {
		if err != nil {
			return fmt.Errorf("%w: WithEncryption: %w", ErrInvalidConfig, err)
		}
		c.keys = k
		return nil
	}
}

// EncryptionKeySize is the size of the keys WithEncryption takes.
const EncryptionKeySize = 32

// The sealed envelope, as stores keep it:
//
//	offset size field
//	0      1    sealedFormat
//	1      4    key ID
//	5      24   nonce, random
//	29     -    the record (session record or owner index), encrypted,
//	            then the 16-byte GCM tag
//
// The authenticated data is the record kind, the first 5 bytes and the
// store key. The first byte tells a sealed record from a record in the
// clear, whose first byte is its format version (1 or 2) or an owner
// index's "s".
const (
	sealedFormat   = 0x81
	keyIDSize      = 4
	sealedHeader   = 1 + keyIDSize + xaesNonceSize
	sealedOverhead = sealedHeader + xaesOverhead
)

// Record kinds, bound into the authenticated data.
const (
	kindSession byte = 's' // a session record, forward or tombstone
	kindIndex   byte = 'i' // an owner index
)

// A sealer seals and opens records. Its one implementation is keyring;
// the manager holds it as an interface so that a program that never calls
// WithEncryption links none of the cipher code.
type sealer interface {
	// seal returns, in a new slice, the envelope of plain, a record of the
	// given kind stored under key, sealed under the current key.
	seal(kind byte, key string, plain []byte) ([]byte, error)
	// envelope returns a new slice to append a record of size bytes to,
	// for sealAppended: seal without copying the record.
	envelope(key string, size int) []byte
	// sealAppended seals in place the record of the given kind, stored
	// under key, appended to a slice from envelope.
	sealAppended(kind byte, key string, env []byte) ([]byte, error)
	// open appends to dst the record of the given kind that stored seals
	// under key; an *openError says why it does not open. dst needs room
	// for openSize bytes, or open allocates.
	open(dst []byte, kind byte, key string, stored []byte) ([]byte, error)
	// stale reports whether stored is sealed under a previous key.
	stale(stored []byte) bool
	// rotating reports whether there are previous keys.
	rotating() bool
}

// A keyring is the keys of WithEncryption: the current one first.
type keyring struct {
	keys []sealKey
}

// A sealKey is one key, ready to use.
type sealKey struct {
	id   [keyIDSize]byte
	aead *xaes
}

// keyID is how logs name a key: hex, never key material.
func (k *sealKey) keyID() string { return hex.EncodeToString(k.id[:]) }

func newKeyring(current []byte, previous [][]byte) (*keyring, error) {
	k := &keyring{}
	all := append([][]byte{current}, previous...)
	for i, key := range all {
		if len(key) != EncryptionKeySize {
			which := "the current key"
			if i > 0 {
				which = fmt.Sprintf("previous key %d", i)
			}
			return nil, fmt.Errorf("%s is %d bytes, want %d", which, len(key), EncryptionKeySize)
		}
		if slices.ContainsFunc(all[:i], func(b []byte) bool { return bytes.Equal(b, key) }) {
			continue // the same key twice
		}
		sk, err := deriveKey(key)
		if err != nil {
			return nil, err
		}
		if _, ok := k.find(sk.id[:]); ok {
			return nil, fmt.Errorf("two keys have the same ID %s: generate another", sk.keyID())
		}
		k.keys = append(k.keys, sk)
	}
	return k, nil
}

// deriveKey derives from key, with HKDF-SHA256, the XAES-256-GCM key and
// the key ID: neither reveals the other or key.
func deriveKey(key []byte) (sealKey, error) {
	var sk sealKey
	id, err := hkdf.Expand(sha256.New, key, "sessionkit/sessions key id v1", keyIDSize)
	if err != nil {
		return sk, err
	}
	aeadKey, err := hkdf.Expand(sha256.New, key, "sessionkit/sessions record key v1", EncryptionKeySize)
	if err != nil {
		return sk, err
	}
	copy(sk.id[:], id)
	if sk.aead, err = newXAES(aeadKey); err != nil {
		return sk, err
	}
	// What fails here fails for every nonce (FIPS 140-only mode): fail
	// in New rather than at the first write.
	if _, err := sk.aead.derive(new([xaesPrefixSize]byte)); err != nil {
		return sk, err
	}
	return sk, nil
}

// find returns the key with the given ID.
func (k *keyring) find(id []byte) (*sealKey, bool) {
	for i := range k.keys {
		if string(k.keys[i].id[:]) == string(id) {
			return &k.keys[i], true
		}
	}
	return nil, false
}

// current is the key that seals.
func (k *keyring) current() *sealKey { return &k.keys[0] }

func (k *keyring) rotating() bool { return len(k.keys) > 1 }

func (k *keyring) stale(stored []byte) bool {
	id, ok := sealedBy(stored)
	return ok && string(id) != string(k.current().id[:])
}

// The envelope's one allocation holds the sealed record and, after it,
// the authenticated data, which Seal reads but does not write over: no
// other allocation. The record is encrypted in place.
func (k *keyring) envelope(key string, size int) []byte {
	return make([]byte, sealedHeader, sealedOverhead+size+adSize(key))
}

func (k *keyring) seal(kind byte, key string, plain []byte) ([]byte, error) {
	return k.sealAppended(kind, key, append(k.envelope(key, len(plain)), plain...))
}

func (k *keyring) sealAppended(kind byte, key string, env []byte) ([]byte, error) {
	cur := k.current()
	n := len(env) + xaesOverhead
	if cap(env)-n < adSize(key) { // not from envelope
		env = append(k.envelope(key, len(env)-sealedHeader), env[sealedHeader:]...)
	}
	env[0] = sealedFormat
	copy(env[1:], cur.id[:])
	ad := appendAD(env[n:n], kind, env[:1+keyIDSize], key)
	sealed, err := cur.aead.seal(env[:sealedHeader:n], env[1+keyIDSize:sealedHeader], env[sealedHeader:], ad)
	if err != nil {
		return nil, err
	}
	return sealed[:n:n], nil
}

// appendAD appends to dst what a sealed record is bound to: its kind, the
// envelope's format and key ID, and its store key.
func appendAD(dst []byte, kind byte, head []byte, key string) []byte {
	dst = append(dst, kind)
	dst = append(dst, head...)
	return append(dst, key...)
}

// adSize is the size of the authenticated data of a record under key.
func adSize(key string) int { return 1 + 1 + keyIDSize + len(key) }

// An openError reports a record that does not open. It names the key ID
// the record claims, never key material.
type openError struct {
	keyID  string // hex; "" when the record is not sealed
	reason string
}

func (e *openError) Error() string {
	if e.keyID == "" {
		return "sessions: record " + e.reason
	}
	return "sessions: record sealed under key ID " + e.keyID + " " + e.reason
}

// sealedBy returns the key ID of a sealed record, or false for a record
// that is not sealed.
func sealedBy(stored []byte) ([]byte, bool) {
	if len(stored) < sealedOverhead || stored[0] != sealedFormat {
		return nil, false
	}
	return stored[1 : 1+keyIDSize], true
}

// openSize is the room open needs after the end of dst: the record and,
// after it, the authenticated data, which Open reads but does not write
// over.
func openSize(key string, stored []byte) int {
	return len(stored) - sealedOverhead + adSize(key)
}

func (k *keyring) open(dst []byte, kind byte, key string, stored []byte) ([]byte, error) {
	id, ok := sealedBy(stored)
	if !ok {
		return nil, &openError{reason: "is not sealed, but encryption is on (WithEncryption)"}
	}
	sk, ok := k.find(id)
	if !ok {
		return nil, &openError{keyID: hex.EncodeToString(id), reason: "does not open: no configured key has that ID"}
	}
	start, n := len(dst), len(stored)-sealedOverhead
	dst = slices.Grow(dst, openSize(key, stored))
	ad := appendAD(dst[start+n:start+n], kind, stored[:1+keyIDSize], key)
	plain, err := sk.aead.open(dst[:start:start+n], stored[1+keyIDSize:sealedHeader], stored[sealedHeader:], ad)
	if err != nil {
		return nil, &openError{keyID: sk.keyID(), reason: "does not open: tampered with, or stored under another key"}
	}
	return plain, nil
}

// errSealedClear reports a sealed record read by a manager without
// encryption.
var errSealedClear = errors.New("sessions: the record is sealed (WithEncryption), but encryption is off")

// keyIDOf returns the key ID an error of opening a record names, or "".
// The error comes from open itself, unwrapped.
func keyIDOf(err error) string {
	if oe, ok := err.(*openError); ok {
		return oe.keyID
	}
	return ""
}
