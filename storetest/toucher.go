package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// toucherChecks: Touch moves the expiry of a live record, and only that.
var toucherChecks = []check{
	{"Later", testTouchLater},
	{"Earlier", testTouchEarlier},
	{"Missing", testTouchMissing},
	{"Expired", testTouchExpired},
}

func testTouchLater(t *testing.T, s store.Store) {
	tc := capability[store.Toucher](t, s)
	key := newKey("touch:")
	short := time.Now().Add(shortTTL)
	mustSave(t, s, key, []byte("value"), short)
	mustTouch(t, tc, key, time.Now().Add(longTTL))
	wantFound(t, s, key, []byte("value"), "Touch must not change the data")
	sleepPast(short)
	wantFound(t, s, key, []byte("value"), "Touch with a later deadline must keep the record past its old one")
}

func testTouchEarlier(t *testing.T, s store.Store) {
	tc := capability[store.Toucher](t, s)
	key := newKey("touch:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	deadline := time.Now().Add(shortTTL)
	mustTouch(t, tc, key, deadline)
	wantExpires(t, s, key, []byte("value"), deadline)
}

func testTouchMissing(t *testing.T, s store.Store) {
	tc := capability[store.Toucher](t, s)
	key := newKey("touch:")
	mustTouch(t, tc, key, time.Now().Add(longTTL))
	wantMissing(t, s, key, "Touch of a missing key must not create a record")
}

func testTouchExpired(t *testing.T, s store.Store) {
	tc := capability[store.Toucher](t, s)
	past, lapsed := newKey("touch:"), newKey("touch:")
	mustSave(t, s, past, []byte("value"), time.Now().Add(-time.Second))
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, lapsed, []byte("value"), deadline)
	sleepPast(deadline)
	for _, key := range []string{past, lapsed} {
		mustTouch(t, tc, key, time.Now().Add(longTTL))
		wantMissing(t, s, key, "Touch must not revive an expired record")
	}
}

// mustTouch touches key or ends the test.
func mustTouch(t *testing.T, tc store.Toucher, key string, expiresAt time.Time) {
	t.Helper()
	if err := tc.Touch(t.Context(), key, expiresAt); err != nil {
		t.Fatalf("Touch(%q): unexpected error (touching a missing or expired key is not an error): %v", key, err)
	}
}
