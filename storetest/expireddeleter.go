package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// expiredDeleterChecks: DeleteExpired removes expired records and keeps
// live ones.
var expiredDeleterChecks = []check{
	{"KeepsLive", testDeleteExpired},
	{"Empty", testDeleteExpiredEmpty},
}

func testDeleteExpired(t *testing.T, s store.Store) {
	ed := capability[store.ExpiredDeleter](t, s)
	var live, expired []string
	exp := time.Now().Add(longTTL)
	for range 3 {
		k := newKey("expired:")
		savePast(t, s, k, []byte("expired"))
		expired = append(expired, k)
		k = newKey("live:")
		mustSave(t, s, k, []byte("live "+k), exp)
		live = append(live, k)
	}
	// A record saved expired and then re-saved live is live.
	k := newKey("live:")
	savePast(t, s, k, []byte("expired"))
	mustSave(t, s, k, []byte("live "+k), exp)
	live = append(live, k)
	// Records that lapse while stored.
	deadline := time.Now().Add(shortTTL)
	for range 2 {
		k := newKey("lapsed:")
		mustSave(t, s, k, []byte("lapsed"), deadline)
		expired = append(expired, k)
	}
	sleepPast(deadline)

	// The count is not checked: a backend with its own TTL may have
	// dropped the records already.
	n, err := ed.DeleteExpired(t.Context())
	if err != nil || n < 0 {
		t.Fatalf("DeleteExpired() = (%d, %v), want a count >= 0 and no error", n, err)
	}
	for _, k := range live {
		wantFound(t, s, k, []byte("live "+k), "DeleteExpired must keep live records")
	}
	for _, k := range expired {
		wantMissing(t, s, k, "an expired record must never be returned")
	}
	if _, err := ed.DeleteExpired(t.Context()); err != nil {
		t.Fatalf("second DeleteExpired(): %v", err)
	}
}

func testDeleteExpiredEmpty(t *testing.T, s store.Store) {
	ed := capability[store.ExpiredDeleter](t, s)
	if n, err := ed.DeleteExpired(t.Context()); err != nil || n < 0 {
		t.Fatalf("DeleteExpired() on an empty store = (%d, %v), want a count >= 0 and no error", n, err)
	}
}
