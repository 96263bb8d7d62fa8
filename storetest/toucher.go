package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// toucherChecks: Touch moves the expiry of a live record, and only that.
var toucherChecks = touchChecks("Touch", func(t *testing.T, s store.Store, key string, expiresAt time.Time, want []byte) []byte {
	t.Helper()
	tc := capability[store.Toucher](t, s)
	if err := tc.Touch(t.Context(), key, expiresAt); err != nil {
		t.Fatalf("Touch(%q): unexpected error (touching a missing or expired key is not an error): %v", key, err)
	}
	if want != nil {
		wantFound(t, s, key, want, "Touch must not change the data")
	}
	return nil
})
