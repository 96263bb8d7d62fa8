package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// loadToucherChecks: LoadAndTouch loads like Load and moves the expiry of
// a live record.
var loadToucherChecks = []check{
	{"Later", testLoadAndTouchLater},
	{"Earlier", testLoadAndTouchEarlier},
	{"Missing", testLoadAndTouchMissing},
	{"Expired", testLoadAndTouchExpired},
	{"Copies", testLoadAndTouchCopies},
}

func testLoadAndTouchLater(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	key := newKey("loadtouch:")
	short := time.Now().Add(shortTTL)
	mustSave(t, s, key, []byte("value"), short)
	wantLoadAndTouch(t, lt, key, time.Now().Add(longTTL), []byte("value"))
	sleepPast(short)
	wantFound(t, s, key, []byte("value"), "LoadAndTouch with a later deadline must keep the record past its old one")
}

func testLoadAndTouchEarlier(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	key := newKey("loadtouch:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	deadline := time.Now().Add(shortTTL)
	wantLoadAndTouch(t, lt, key, deadline, []byte("value"))
	wantExpires(t, s, key, []byte("value"), deadline)
}

func testLoadAndTouchMissing(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	key := newKey("loadtouch:")
	wantLoadAndTouch(t, lt, key, time.Now().Add(longTTL), nil)
	wantMissing(t, s, key, "LoadAndTouch of a missing key must not create a record")
}

func testLoadAndTouchExpired(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	past, lapsed := newKey("loadtouch:"), newKey("loadtouch:")
	mustSave(t, s, past, []byte("value"), time.Now().Add(-time.Second))
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, lapsed, []byte("value"), deadline)
	sleepPast(deadline)
	for _, key := range []string{past, lapsed} {
		wantLoadAndTouch(t, lt, key, time.Now().Add(longTTL), nil)
		wantMissing(t, s, key, "LoadAndTouch must not revive an expired record")
	}
}

func testLoadAndTouchCopies(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	key := newKey("loadtouch:")
	mustSave(t, s, key, []byte("original value"), time.Now().Add(longTTL))
	got := wantLoadAndTouch(t, lt, key, time.Now().Add(longTTL), []byte("original value"))
	scribble(got)
	wantFound(t, s, key, []byte("original value"), "LoadAndTouch must return a copy: changing the returned slice changed the record")
}

// wantLoadAndTouch calls LoadAndTouch and checks that it returns want, or
// no record when want is nil. It returns the data.
func wantLoadAndTouch(t *testing.T, lt store.LoadToucher, key string, expiresAt time.Time, want []byte) []byte {
	t.Helper()
	got, found, err := lt.LoadAndTouch(t.Context(), key, expiresAt)
	switch {
	case err != nil:
		t.Fatalf("LoadAndTouch(%q): unexpected error: %v", key, err)
	case want == nil && found:
		t.Fatalf("LoadAndTouch(%q) found %s, want no record (missing or expired)", key, show(got))
	case want != nil && !found:
		t.Fatalf("LoadAndTouch(%q) found no record, want %s", key, show(want))
	case string(got) != string(want):
		t.Fatalf("LoadAndTouch(%q) = %s", key, mismatch(got, want))
	}
	return got
}
