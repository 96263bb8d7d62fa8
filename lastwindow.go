package sessions

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// lastWindowSlots is how many sessions in their last idle timeout a
// manager remembers the deadlines of; a session it forgets (two in one
// slot) costs one rewrite more.
const lastWindowSlots = 1024

// lastWindow remembers the absolute deadlines of sessions whose idle
// timeout reaches past them (their last idle timeout), by record key, so
// that a load touches such a record to its deadline instead of past it
// and needs no rewrite to pull the expiry back (see fetch). A key's
// deadline never changes (a Renew moves the session to a new key), so a
// deadline remembered for a key is right for as long as the key lives.
type lastWindow struct {
	seed  maphash.Seed
	slots [lastWindowSlots]atomic.Pointer[keyDeadline]
}

type keyDeadline struct {
	key      string
	deadline time.Time
}

// newLastWindow returns an empty lastWindow that hashes keys with seed.
func newLastWindow(seed maphash.Seed) *lastWindow { return &lastWindow{seed: seed} }

func (w *lastWindow) slot(key string) *atomic.Pointer[keyDeadline] {
	return &w.slots[maphash.String(w.seed, key)%lastWindowSlots]
}

// deadline returns the deadline remembered for key.
func (w *lastWindow) deadline(key string) (time.Time, bool) {
	if d := w.slot(key).Load(); d != nil && d.key == key {
		return d.deadline, true
	}
	return time.Time{}, false
}

// remember records that the session under key ends at deadline.
func (w *lastWindow) remember(key string, deadline time.Time) {
	w.slot(key).Store(&keyDeadline{key, deadline})
}
