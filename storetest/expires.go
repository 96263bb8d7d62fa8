package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// expiresSlack is how far a reported expiry may be from the one the
// store was given, besides the time the load took: a store may keep
// expiries to the millisecond, and one that reads a remaining time to
// live (Redis PTTL) rounds it to one.
const expiresSlack = 2 * time.Millisecond

// testExpiresReported: a store that reports the expiry a touched load set
// (store.Loaded.Expires) reports the expiry of every record it finds
// through LoadVersions, or, without it, through LoadVersion, after a
// touch and after a write alike. A store that reports none has no rules.
func testExpiresReported(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("expires:")
	mustSaveIf(t, vs, key, []byte("value"), time.Now().Add(longTTL), 0, "SaveIf with version 0 must insert a missing record")
	touch := time.Now().Add(2 * longTTL)
	l, err := vs.LoadVersion(t.Context(), key, touch)
	if err != nil {
		t.Fatalf("LoadVersion with a touch: unexpected error: %v", err)
	}
	if !l.Touched || l.Expires.IsZero() {
		t.Log("LoadVersion does not report the expiry it set (Loaded.Expires): no rules apply")
		return
	}
	if d := l.Expires.Sub(touch).Abs(); d > expiresSlack {
		t.Fatalf("LoadVersion touched the record to %v but reported Expires %v (%v apart): Expires must be the expiry the store keeps", touch, l.Expires, d)
	}
	wantReportedExpiry(t, s, key, touch, "a store that reports the expiry of a touched load must report it on the next read")

	later := time.Now().Add(3 * longTTL)
	v := mustSaveIf(t, vs, key, []byte("value"), later, l.Version, "SaveIf with the loaded version must write")
	if v == 0 {
		t.Fatal("SaveIf with a future deadline returned the zero version")
	}
	wantReportedExpiry(t, s, key, later, "a store that reports expiries must report the one a write set")
}

// wantReportedExpiry checks that the read the manager uses to list
// sessions (LoadVersions, else LoadVersion without a touch) reports key's
// expiry as want.
func wantReportedExpiry(t *testing.T, s store.Store, key string, want time.Time, rule string) {
	t.Helper()
	start := time.Now()
	var l store.Loaded
	if ml, ok := s.(store.MultiLoader); ok {
		ls, err := ml.LoadVersions(t.Context(), []string{key})
		if err != nil || len(ls) != 1 {
			t.Fatalf("LoadVersions of one key = %d records, %v", len(ls), err)
		}
		l = ls[0]
	} else {
		var err error
		if l, err = capability[store.Versioned](t, s).LoadVersion(t.Context(), key, time.Time{}); err != nil {
			t.Fatalf("LoadVersion: unexpected error: %v", err)
		}
	}
	took := time.Since(start)
	if !l.Found() {
		t.Fatalf("%s: the record is not found", rule)
	}
	if d := l.Expires.Sub(want).Abs(); l.Expires.IsZero() || d > expiresSlack+took {
		t.Fatalf("%s: reported Expires %v, want %v (within %v)", rule, l.Expires, want, expiresSlack+took)
	}
}
