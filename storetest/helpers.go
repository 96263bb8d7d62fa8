package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// Timing of the expiry checks.
const (
	// shortTTL is how far ahead the short deadlines lie.
	shortTTL = 3 * time.Second
	// longTTL is a deadline no check waits for.
	longTTL = time.Hour
	// lateSlack is how long after its deadline a record may still be
	// returned (clock reads on a server, round trips).
	lateSlack = 150 * time.Millisecond
	// earlySlack is how long before its deadline a record may already be
	// missing.
	earlySlack = 100 * time.Millisecond
	// pollEvery is the pause between two loads while waiting for expiry.
	pollEvery = 20 * time.Millisecond
	// staleTTL is how far ahead lies the deadline of a record that only
	// has to be written before it: a SaveIf takes one round trip.
	staleTTL = time.Second
	// staleSlack is how long after its deadline SaveIf may still accept the
	// version of an expired record. Reads never return the record after
	// lateSlack, but a backend whose own expiry counts whole seconds
	// (memcached) accepts a compare-and-swap until it drops the item, up to
	// 2 s after the deadline.
	staleSlack = 2500 * time.Millisecond
)

// alphabet is the alphabet of session tokens: base64url without padding.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// tokenLen is the length of a session token: 32 bytes in base64url.
const tokenLen = 43

// randomToken returns n random characters of the token alphabet.
func randomToken(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// newKey returns prefix followed by a random token, shaped like the keys
// the manager uses. Keys are random so that checks never see each other's
// records, even on a shared backend.
func newKey(prefix string) string {
	return prefix + randomToken(tokenLen)
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rand.Uint64()
		for j := i; j < min(i+8, n); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
	return b
}

// show describes data for a failure message.
func show(data []byte) string {
	if len(data) <= 120 {
		return fmt.Sprintf("%q", data)
	}
	return fmt.Sprintf("%d bytes starting %q", len(data), data[:32])
}

// mismatch describes how got differs from want.
func mismatch(got, want []byte) string {
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%s, want %s (first difference at byte %d)", show(got), show(want), i)
}

// mustSave saves data under key or ends the test.
func mustSave(t *testing.T, s store.Store, key string, data []byte, expiresAt time.Time) {
	t.Helper()
	if err := s.Save(t.Context(), key, data, expiresAt); err != nil {
		t.Fatalf("Save(%q, %s): unexpected error: %v", key, show(data), err)
	}
}

// mustDelete deletes key or ends the test.
func mustDelete(t *testing.T, s store.Store, key string) {
	t.Helper()
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete(%q): unexpected error: %v", key, err)
	}
}

// mustLoad loads key or ends the test.
func mustLoad(t *testing.T, s store.Store, key string) ([]byte, bool) {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load(%q): unexpected error: %v", key, err)
	}
	return data, found
}

// wantFound checks that key holds want; rule says why it should.
func wantFound(t *testing.T, s store.Store, key string, want []byte, rule string) {
	t.Helper()
	got, found := mustLoad(t, s, key)
	if !found {
		t.Fatalf("%s: Load(%q) found no record", rule, key)
	}
	if string(got) != string(want) {
		t.Fatalf("%s: Load(%q) = %s", rule, key, mismatch(got, want))
	}
}

// wantMissing checks that key holds no record; rule says why it should not.
func wantMissing(t *testing.T, s store.Store, key string, rule string) {
	t.Helper()
	got, found := mustLoad(t, s, key)
	if found {
		t.Fatalf("%s: Load(%q) found %s, want no record", rule, key, show(got))
	}
}

// wantExpires polls key, which must hold want, until its deadline passes.
// It fails if the record disappears more than earlySlack before deadline or
// is still returned by a Load that started more than lateSlack after it.
func wantExpires(t *testing.T, s store.Store, key string, want []byte, deadline time.Time) {
	t.Helper()
	for seen := false; ; seen = true {
		start := time.Now()
		got, found := mustLoad(t, s, key)
		end := time.Now()
		switch {
		case !found && end.Before(deadline.Add(-earlySlack)):
			t.Fatalf("a record must live until its deadline: Load(%q) found no record %v before the deadline",
				key, deadline.Sub(end).Round(time.Millisecond))
		case !found && !seen:
			t.Fatalf("cannot check expiry: the first Load(%q) after Save returned less than %v before the deadline (machine too slow?)",
				key, earlySlack)
		case !found:
			return
		case string(got) != string(want):
			t.Fatalf("Load(%q) before the deadline = %s", key, mismatch(got, want))
		case start.After(deadline.Add(lateSlack)):
			t.Fatalf("expiry must be enforced on read: Load(%q) still found the record %v after its deadline",
				key, start.Sub(deadline).Round(time.Millisecond))
		}
		time.Sleep(pollEvery)
	}
}

// savePast saves data under key with a deadline a second ago, and checks
// at once that the record is not returned.
func savePast(t *testing.T, s store.Store, key string, data []byte) {
	t.Helper()
	mustSave(t, s, key, data, time.Now().Add(-time.Second))
	wantMissing(t, s, key, "a record saved with a deadline that has passed must never be returned")
}

// sleepPast sleeps until deadline and the slack after it have passed.
func sleepPast(deadline time.Time) {
	time.Sleep(time.Until(deadline.Add(lateSlack + pollEvery)))
}

// capability returns s as the optional interface C, or skips the test.
func capability[C any](t *testing.T, s store.Store) C {
	t.Helper()
	c, ok := s.(C)
	if !ok {
		t.Fatalf("the store does not implement %v, although the first store newStore returned did", reflect.TypeFor[C]())
	}
	return c
}
