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
}), check{"Copies", testLoadAndTouchCopies}, check{"Past", testLoadAndTouchPast})

// testLoadAndTouchPast: a deadline that has passed returns the record as
// it was (found) and leaves no record, as Save with such a deadline does.
func testLoadAndTouchPast(t *testing.T, s store.Store) {
	lt := capability[store.LoadToucher](t, s)
	for _, ago := range []time.Duration{time.Millisecond, time.Second, 24 * time.Hour} {
		key := newKey("loadtouch:")
		mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
		got, found, err := lt.LoadAndTouch(t.Context(), key, time.Now().Add(-ago))
		switch {
		case err != nil:
			t.Fatalf("LoadAndTouch(%q) with a deadline %v in the past: unexpected error: %v", key, ago, err)
		case !found:
			t.Fatalf("LoadAndTouch(%q) with a deadline %v in the past found no record: it must return the live record as it was (found), then leave it expired", key, ago)
		case string(got) != "value":
			t.Fatalf("LoadAndTouch(%q) with a deadline %v in the past = %s", key, ago, mismatch(got, []byte("value")))
		}
		wantMissing(t, s, key, "LoadAndTouch with a deadline that has passed must leave no record")
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
