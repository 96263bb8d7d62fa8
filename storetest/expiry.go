package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// expiryChecks: an expired record is never returned, and a live one is.
var expiryChecks = []check{
	{"PastDeadline", testPastDeadline},
	{"ShortDeadline", testShortDeadline},
}

func testPastDeadline(t *testing.T, s store.Store) {
	for _, ago := range []time.Duration{time.Millisecond, time.Second, 24 * time.Hour} {
		key := newKey("expiry:")
		if err := s.Save(t.Context(), key, []byte("expired"), time.Now().Add(-ago)); err != nil {
			t.Fatalf("Save with a deadline %v in the past must succeed: %v", ago, err)
		}
		wantMissing(t, s, key, "a record whose deadline has passed must never be returned")
	}
}

func testShortDeadline(t *testing.T, s store.Store) {
	key := newKey("expiry:")
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, key, []byte("short-lived"), deadline)
	wantExpires(t, s, key, []byte("short-lived"), deadline)
}
