package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// toucherChecks: Touch moves the expiry of a live record, and only that.
var toucherChecks = append(touchChecks("Touch", func(t *testing.T, s store.Store, key string, expiresAt time.Time, want []byte) []byte {
	t.Helper()
	tc := capability[store.Toucher](t, s)
	if err := tc.Touch(t.Context(), key, expiresAt); err != nil {
		t.Fatalf("Touch(%q): unexpected error (touching a missing or expired key is not an error): %v", key, err)
	}
	if want != nil {
		wantFound(t, s, key, want, "Touch must not change the data")
	}
	return nil
}), check{"Past", testTouchPast})

// testTouchPast: a deadline that has passed leaves no record, as Save with
// such a deadline does.
func testTouchPast(t *testing.T, s store.Store) {
	tc := capability[store.Toucher](t, s)
	key := newKey("touch:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	if err := tc.Touch(t.Context(), key, time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Touch(%q) with a deadline in the past: unexpected error: %v", key, err)
	}
	wantMissing(t, s, key, "Touch with a deadline that has passed must leave no record")
}
