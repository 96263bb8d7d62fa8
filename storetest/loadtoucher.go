package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// loadToucherChecks: LoadAndTouch loads like Load and moves the expiry of
// a live record.
var loadToucherChecks = append(touchChecks("LoadAndTouch", func(t *testing.T, s store.Store, key string, expiresAt time.Time, want []byte) []byte {
	t.Helper()
	return wantLoadAndTouch(t, capability[store.LoadToucher](t, s), key, expiresAt, want)
}), check{"Copies", testLoadAndTouchCopies})

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
