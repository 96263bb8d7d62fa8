package sessions

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// xaes is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM under a
// subkey derived from the key and the first 12 bytes (the prefix) of a
// 24-byte nonce, with a one-block CMAC (NIST SP 800-108r1 counter mode);
// the other 12 bytes (the suffix) are the GCM nonce.
//
// Deriving a subkey costs little (two AES blocks), but setting up
// AES-256-GCM under it does not: the key schedule, the GHASH tables and
// their allocations cost more than opening a 1 kB record. So xaes does not
// draw a fresh prefix for every record. It seals runs of records under one
// random prefix, with suffixes that count from a random start, and
// remembers the subkeys of the prefixes it has seen:
//
//   - Sealing: a run is a random 12-byte prefix and a random 12-byte
//     suffix; its n-th record (n = 1, 2, ...) has that suffix with n added
//     to its last 8 bytes (mod 2^64). After xaesRunLength records a new
//     run begins, so one subkey seals at most 2^20 records, and every
//     process draws its own runs: processes share no nonce state.
//   - Opening: the subkeys of recent prefixes are kept in a small cache
//     (xaesCacheSlots entries of about 800 bytes per key), which a subkey
//     enters only after a record under it opened: records forged with
//     made-up prefixes cost a derivation each, as before, and evict
//     nothing.
//
// Nonces still never repeat: within a run the suffixes are distinct; two
// runs share a nonce only if they drew the same 96-bit prefix (2^-96) and
// their ranges of 2^20 suffixes, from random starts among 2^96, overlap
// (below 2^21 * 2^-96). Even with a run per record (P = 2^40 runs), the
// chance is below P^2 * 2^-96 * 2^21 * 2^-96 = 2^-91. A random nonce per
// record would be safer still (2^-113), at the price of a key schedule
// per record. The records are XAES-256-GCM's: any implementation of it
// opens them. What a reader of the store learns beyond that is which
// records one process sealed in the same run (they share a prefix).
type xaes struct {
	block cipher.Block // AES-256 under the key
	k1    [aes.BlockSize]byte

	mu    sync.Mutex // held to begin a run
	run   atomic.Pointer[xaesRun]
	cache [xaesCacheSlots]atomic.Pointer[xaesSubkey]
}

const (
	xaesNonceSize  = 24
	xaesPrefixSize = 12
	xaesOverhead   = 16 // the GCM tag
	// xaesRunLength is how many records one run seals.
	xaesRunLength = 1 << 20
	// xaesCacheSlots is how many subkeys the open cache keeps, per key.
	xaesCacheSlots = 64
)

// An xaesSubkey is AES-256-GCM under the subkey of one prefix. Its AEAD
// (the standard library's) keeps no state between calls: any number of
// goroutines may use it at once.
type xaesSubkey struct {
	prefix [xaesPrefixSize]byte
	aead   cipher.AEAD
}

// An xaesRun is the subkey records are being sealed under.
type xaesRun struct {
	*xaesSubkey
	suffix [xaesNonceSize - xaesPrefixSize]byte // the random start
	n      atomic.Uint64                        // records sealed in the run
}

func newXAES(key []byte) (*xaes, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	x := &xaes{block: block}
	// K1, CMAC's first subkey: L = AES(0), doubled in GF(2^128).
	block.Encrypt(x.k1[:], x.k1[:])
	msb := x.k1[0] >> 7
	for i := range len(x.k1) - 1 {
		x.k1[i] = x.k1[i]<<1 | x.k1[i+1]>>7
	}
	x.k1[len(x.k1)-1] = x.k1[len(x.k1)-1]<<1 ^ msb*0x87
	return x, nil
}

// derive returns AES-256-GCM under the subkey of prefix.
func (x *xaes) derive(prefix *[xaesPrefixSize]byte) (*xaesSubkey, error) {
	var m, key [2 * aes.BlockSize]byte
	m[1], m[2] = 1, 'X'
	copy(m[4:16], prefix[:])
	m[17], m[18] = 2, 'X'
	copy(m[20:32], prefix[:])
	subtle.XORBytes(m[:16], m[:16], x.k1[:])
	subtle.XORBytes(m[16:], m[16:], x.k1[:])
	x.block.Encrypt(key[:16], m[:16])
	x.block.Encrypt(key[16:], m[16:])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &xaesSubkey{prefix: *prefix, aead: g}, nil
}

// slot is the cache entry for prefix, which is random: its first bytes
// spread prefixes evenly.
func (x *xaes) slot(prefix *[xaesPrefixSize]byte) *atomic.Pointer[xaesSubkey] {
	return &x.cache[binary.LittleEndian.Uint32(prefix[:4])%xaesCacheSlots]
}

// next returns the run to seal a record in and the record's number in it.
func (x *xaes) next() (*xaesRun, uint64, error) {
	for {
		r := x.run.Load()
		if r != nil {
			if n := r.n.Add(1); n <= xaesRunLength {
				return r, n, nil
			}
		}
		x.mu.Lock()
		if x.run.Load() == r { // nobody began another run meanwhile
			nr := &xaesRun{}
			var prefix [xaesPrefixSize]byte
			// A failing system random source is a fatal error in
			// crypto/rand: Read never returns one.
			rand.Read(prefix[:])
			rand.Read(nr.suffix[:])
			sk, err := x.derive(&prefix)
			if err != nil {
				x.mu.Unlock()
				return nil, 0, err
			}
			nr.xaesSubkey = sk
			x.slot(&prefix).Store(sk)
			x.run.Store(nr)
		}
		x.mu.Unlock()
	}
}

// seal writes a fresh nonce to nonce (24 bytes) and appends to dst the
// encryption of plaintext with the tag. nonce may be part of dst.
func (x *xaes) seal(dst, nonce, plaintext, ad []byte) ([]byte, error) {
	r, n, err := x.next()
	if err != nil {
		return nil, err
	}
	copy(nonce, r.prefix[:])
	suffix := nonce[xaesPrefixSize:xaesNonceSize]
	copy(suffix, r.suffix[:])
	binary.BigEndian.PutUint64(suffix[4:], binary.BigEndian.Uint64(r.suffix[4:])+n)
	return r.aead.Seal(dst, suffix, plaintext, ad), nil
}

// open appends to dst the decryption of ciphertext, sealed with nonce (24
// bytes), after checking its tag.
func (x *xaes) open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	prefix := (*[xaesPrefixSize]byte)(nonce[:xaesPrefixSize])
	var sk *xaesSubkey
	if r := x.run.Load(); r != nil && r.prefix == *prefix {
		sk = r.xaesSubkey // the run this process seals in
	}
	slot := x.slot(prefix)
	if sk == nil {
		sk = slot.Load()
	}
	cached := sk != nil && sk.prefix == *prefix
	if !cached {
		var err error
		if sk, err = x.derive(prefix); err != nil {
			return nil, err
		}
	}
	plain, err := sk.aead.Open(dst, nonce[xaesPrefixSize:xaesNonceSize], ciphertext, ad)
	if err == nil && !cached {
		slot.Store(sk)
	}
	return plain, err
}
