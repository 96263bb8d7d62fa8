package sessions_test

import (
	"testing"

	"github.com/sessionkit/sessions"
)

// FuzzCodecsUnmarshal feeds arbitrary bytes to both built-in codecs'
// Unmarshal, into a struct session, a map[string]any session and a
// recursive type: neither may panic, and what decodes may be encoded again
// (or refused) without a panic either.
//
//	go test -run '^$' -fuzz FuzzCodecsUnmarshal -fuzztime 30s .
func FuzzCodecsUnmarshal(f *testing.F) {
	samples := []any{
		&appSession{User: "ada", Next: "\xff", Items: []int{1, 2}, Data: map[string]any{"k": []any{"v", 1.5, -1}}, Head: &chain{Name: "a", Next: &chain{Name: "b"}}},
		&map[string]any{"user": "ada", "n": uint64(3), "nested": map[string]any{"list": []any{true, nil}}},
		&tree{Name: "root", Kids: []*tree{{Name: "kid"}}, Next: &tree{Name: "next"}},
	}
	for _, c := range []sessions.Codec{sessions.CBOR(), sessions.JSON()} {
		for _, v := range samples {
			b, err := c.Marshal(v)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, b := range [][]byte{
		{0x9a, 0x7f, 0xff, 0xff, 0xff}, // array claiming 2^31-1 elements
		{0xba, 0x7f, 0xff, 0xff, 0xff}, // map claiming 2^31-1 pairs
		{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x7a, 0x7f, 0xff, 0xff, 0xff, 'a'},
		{0xa1, 0x61, 'a', 0xd8, 0x1e, 0x82, 0x01, 0x00},          // a tag (rational)
		{0xa1, 0x61, 'a', 0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0}, // a bignum
		{0xa1, 0x01, 0x02},                                       // an integer key
		[]byte(`{"User":"\ud800","Items":[1e400],"Data":{"a":[[[[]]]]}}`),
		[]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []sessions.Codec{sessions.CBOR(), sessions.JSON()} {
			for _, target := range []any{new(appSession), new(map[string]any), new(tree)} {
				if c.Unmarshal(data, target) == nil {
					_, _ = c.Marshal(target)
				}
			}
		}
	})
}
