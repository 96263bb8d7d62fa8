package sessions

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

// xaes is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM under a key
// derived, for each message, from the key and the first 12 bytes of a
// 24-byte nonce, with a one-block CMAC (NIST SP 800-108r1 counter mode);
// the other 12 bytes are the GCM nonce. Random 24-byte nonces are safe
// for an effectively unlimited number of messages under one key.
type xaes struct {
	block cipher.Block // AES-256 under the key
	k1    [aes.BlockSize]byte
}

const (
	xaesNonceSize = 24
	xaesOverhead  = 16 // the GCM tag
)

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

// gcm returns AES-256-GCM under the key derived for nonce (24 bytes).
func (x *xaes) gcm(nonce []byte) (cipher.AEAD, error) {
	if len(nonce) != xaesNonceSize {
		return nil, errors.New("sessions: XAES-256-GCM nonce must be 24 bytes")
	}
	var m, key [2 * aes.BlockSize]byte
	m[1], m[2] = 1, 'X'
	copy(m[4:16], nonce[:12])
	m[17], m[18] = 2, 'X'
	copy(m[20:32], nonce[:12])
	subtle.XORBytes(m[:16], m[:16], x.k1[:])
	subtle.XORBytes(m[16:], m[16:], x.k1[:])
	x.block.Encrypt(key[:16], m[:16])
	x.block.Encrypt(key[16:], m[16:])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal appends to dst the encryption of plaintext with the tag.
func (x *xaes) seal(dst, nonce, plaintext, ad []byte) ([]byte, error) {
	g, err := x.gcm(nonce)
	if err != nil {
		return nil, err
	}
	return g.Seal(dst, nonce[12:], plaintext, ad), nil
}

// open appends to dst the decryption of ciphertext, after checking its
// tag.
func (x *xaes) open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	g, err := x.gcm(nonce)
	if err != nil {
		return nil, err
	}
	return g.Open(dst, nonce[12:], ciphertext, ad)
}
