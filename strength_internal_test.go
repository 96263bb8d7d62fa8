package sessions

import (
	"encoding/base64"
	"errors"
	"math/bits"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
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

// recordSize is what the size limit and the record buffer rely on: it must
// be the length of the encoding, owner included.
func TestRecordSizeIsTheEncodedSize(t *testing.T) {
	for _, owner := range []string{"", "u", strings.Repeat("o", maxOwnerLen)} {
		for _, payload := range [][]byte{nil, {1}, make([]byte, 1000)} {
			enc := appendRecord(nil, record{deadline: time.Now(), owner: owner, payload: payload})
			if got := recordSize(owner, payload); got != len(enc) {
				t.Errorf("recordSize(owner of %d, payload of %d) = %d, want the encoded %d", len(owner), len(payload), got, len(enc))
			}
		}
	}
}

type sized struct{ Name string }

// WithMaxSize(n) admits a record of exactly n bytes and refuses n+1, owner
// included.
func TestMaxSizeBoundary(t *testing.T) {
	for _, owner := range []string{"", "user-42"} {
		v := sized{Name: strings.Repeat("x", 100)}
		payload, err := CBOR().Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		n := len(appendRecord(nil, record{owner: owner, payload: payload}))
		for _, limit := range []int{n, n - 1} {
			m, err := New[sized](WithMaxSize(limit))
			if err != nil {
				t.Fatal(err)
			}
			ctx, err := m.Load(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			*m.Get(ctx) = v
			if owner != "" {
				err = m.SetOwner(ctx, owner) // saves at once
			} else {
				_, _, err = m.Commit(ctx)
			}
			if tooLarge := errors.Is(err, store.ErrTooLarge); tooLarge != (limit < n) {
				t.Errorf("owner %q, record of %d bytes, WithMaxSize(%d): err = %v", owner, n, limit, err)
			}
			m.Close()
		}
	}
}

// Records whose header, owner or payload ends exactly at the end of the
// bytes are whole records.
func TestParseRecordExactFits(t *testing.T) {
	v1 := append([]byte{1, 0}, make([]byte, v1HeaderSize-2)...)
	if r, err := parseRecord(v1); err != nil || len(r.payload) != 0 {
		t.Errorf("version 1 header without payload: %+v, %v", r, err)
	}
	for _, owner := range []string{"", "abc", strings.Repeat("o", maxOwnerLen)} {
		b := appendRecord(nil, record{deadline: time.Now(), owner: owner})
		r, err := parseRecord(b)
		if err != nil || r.owner != owner || len(r.payload) != 0 {
			t.Errorf("record with an owner of %d bytes and no payload: owner of %d, payload %q, %v", len(owner), len(r.owner), r.payload, err)
		}
	}
	long := appendRecord(nil, record{deadline: time.Now(), owner: strings.Repeat("o", maxOwnerLen+1), payload: []byte("p")})
	if _, err := parseRecord(long); err == nil {
		t.Errorf("accepted an owner of %d bytes", maxOwnerLen+1)
	}
}

// At most maxPresentedTokens session cookies of one request are tried.
func TestAppendTokensStopsAtTheLimit(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	var want []string
	for i := range maxPresentedTokens + 2 {
		tok := newToken()
		if i < maxPresentedTokens {
			want = append(want, tok)
		}
		r.Header.Add("Cookie", "session="+tok)
	}
	if got := appendTokens(nil, r, "session"); !slices.Equal(got, want) {
		t.Errorf("appendTokens of %d cookies = %d tokens, want the first %d", maxPresentedTokens+2, len(got), maxPresentedTokens)
	}
}

// The encode buffer pool keeps buffers up to maxPooledBuffer and drops
// bigger ones, so that one huge session does not pin its memory.
func TestBufferPoolDropsHugeBuffers(t *testing.T) {
	const rounds = 30
	reused := 0
	for range rounds {
		big := getBuffer()
		big.Grow(maxPooledBuffer + 1)
		putBuffer(big)
		if b := getBuffer(); b == big {
			t.Fatalf("a buffer of %d bytes was pooled", big.Cap())
		}
		small := getBuffer()
		small.Grow(maxPooledBuffer - 64)
		putBuffer(small)
		if getBuffer() == small {
			reused++
		}
	}
	// sync.Pool may drop any buffer (under the race detector a quarter of
	// them), but not nearly all.
	if reused < rounds/3 {
		t.Errorf("a buffer of at most %d bytes was reused %d times in %d, want it pooled", maxPooledBuffer, reused, rounds)
	}
}
