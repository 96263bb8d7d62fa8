package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// roundTripChecks: what Save stores, Load returns, byte for byte.
var roundTripChecks = []check{
	{"Empty", func(t *testing.T, s store.Store) { roundTrip(t, s, []byte{}) }},
	{"Nil", func(t *testing.T, s store.Store) { roundTrip(t, s, nil) }},
	{"AllByteValues", func(t *testing.T, s store.Store) {
		data := make([]byte, 256)
		for i := range data {
			data[i] = byte(i)
		}
		roundTrip(t, s, data)
	}},
	{"Random64KiB", func(t *testing.T, s store.Store) { roundTrip(t, s, randomBytes(64<<10)) }},
	{"Random1MiB", testRandom1MiB},
	{"LoadMissing", testLoadMissing},
}

// roundTrip saves data and checks that Load returns it.
func roundTrip(t *testing.T, s store.Store, data []byte) {
	t.Helper()
	key := newKey("roundtrip:")
	mustSave(t, s, key, data, time.Now().Add(longTTL))
	wantFound(t, s, key, data, "Load must return what Save stored (empty records too)")
}

// testRandom1MiB round-trips 1 MiB, unless the store rejects such a record
// with store.ErrTooLarge as the contract allows.
func testRandom1MiB(t *testing.T, s store.Store) {
	data := randomBytes(1 << 20)
	key := newKey("roundtrip:")
	err := s.Save(t.Context(), key, data, time.Now().Add(longTTL))
	if errors.Is(err, store.ErrTooLarge) {
		t.Logf("the store rejects 1 MiB records, as the contract allows: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("Save of 1 MiB: %v (a store that cannot keep it must return an error wrapping store.ErrTooLarge)", err)
	}
	wantFound(t, s, key, data, "Load must return what Save stored")
}

// testLoadMissing: an unknown key is found == false with a nil error.
func testLoadMissing(t *testing.T, s store.Store) {
	key := newKey("missing:")
	data, found, err := s.Load(t.Context(), key)
	if err != nil || found || len(data) != 0 {
		t.Fatalf("Load of a missing key = (%s, %v, %v), want (nil, false, nil)", show(data), found, err)
	}
}
