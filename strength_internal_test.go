package sessions

import (
	"encoding/base64"
	"math/bits"
	"testing"
)

// Item 1 of issue 14. Break: fill only 16 of the 32 bytes from crypto/rand
// (zeros, or a copy of the first half, in the rest): the token is still 43
// valid characters, so the other token tests pass.
//
// Every one of the 256 bits must vary, with a frequency near one half, and
// the bits must be linearly independent over GF(2): N random tokens span
// all 256 dimensions (the chance that 512 uniform 256-bit strings do not is
// below 2^-255), while a 128-bit token expanded by zeros, copies or XORs
// spans at most 128. (A 128-bit seed run through a hash would pass: no
// black-box test can tell that apart.)
func TestTokenHas256RandomBits(t *testing.T) {
	const n = 4096
	var ones [256]int
	var basis [256][4]uint64 // basis[i]: a row whose highest set bit is i
	rank := 0
	for range n {
		b, err := base64.RawURLEncoding.DecodeString(newToken())
		if err != nil || len(b) != 32 {
			t.Fatalf("token decodes to %d bytes, %v", len(b), err)
		}
		var row [4]uint64
		for i := range 256 {
			if b[i/8]>>(i%8)&1 == 1 {
				ones[i]++
				row[i/64] |= 1 << (i % 64)
			}
		}
		rank += insert(&basis, row)
	}
	// Each count is Binomial(4096, 1/2): mean 2048, standard deviation 32.
	// 2048 ± 256 is eight deviations: a false alarm about once in 10^13 runs.
	for i, c := range ones {
		if c < n/2-256 || c > n/2+256 {
			t.Errorf("bit %d of the token is set in %d of %d tokens, want about half", i, c, n)
		}
	}
	if rank != 256 {
		t.Errorf("%d tokens span %d of 256 dimensions: the token does not carry 256 independent random bits", n, rank)
	}
}

// insert reduces row by the basis (Gaussian elimination over GF(2)) and
// adds what is left; it returns 1 if the row was independent of the basis.
func insert(basis *[256][4]uint64, row [4]uint64) int {
	for w := 3; w >= 0; w-- {
		for row[w] != 0 {
			i := w*64 + 63 - bits.LeadingZeros64(row[w])
			if basis[i] == [4]uint64{} {
				basis[i] = row
				return 1
			}
			for k := range row {
				row[k] ^= basis[i][k]
			}
		}
	}
	return 0
}
