package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// A toucher moves the expiry of key to expiresAt through one capability and
// checks what the record holds afterwards: want, or no record when want is
// nil. It returns the data the capability returned, if any.
type toucher func(t *testing.T, s store.Store, key string, expiresAt time.Time, want []byte) []byte

// touchChecks are the rules Touch and LoadAndTouch share: they move the
// expiry of a live record, later or earlier, and never create or revive one.
func touchChecks(op string, touch toucher) []check {
	return []check{
		{"Later", func(t *testing.T, s store.Store) {
			key := newKey("touch:")
			short := time.Now().Add(shortTTL)
			mustSave(t, s, key, []byte("value"), short)
			touch(t, s, key, time.Now().Add(longTTL), []byte("value"))
			sleepPast(short)
			wantFound(t, s, key, []byte("value"), op+" with a later deadline must keep the record past its old one")
		}},
		{"Earlier", func(t *testing.T, s store.Store) {
			key := newKey("touch:")
			mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
			deadline := time.Now().Add(shortTTL)
			touch(t, s, key, deadline, []byte("value"))
			wantExpires(t, s, key, []byte("value"), deadline)
		}},
		{"Missing", func(t *testing.T, s store.Store) {
			key := newKey("touch:")
			touch(t, s, key, time.Now().Add(longTTL), nil)
			wantMissing(t, s, key, op+" of a missing key must not create a record")
		}},
		{"Expired", func(t *testing.T, s store.Store) {
			past, lapsed := newKey("touch:"), newKey("touch:")
			savePast(t, s, past, []byte("value"))
			deadline := time.Now().Add(shortTTL)
			mustSave(t, s, lapsed, []byte("value"), deadline)
			sleepPast(deadline)
			for _, key := range []string{past, lapsed} {
				touch(t, s, key, time.Now().Add(longTTL), nil)
				wantMissing(t, s, key, op+" must not revive an expired record")
			}
		}},
	}
}
