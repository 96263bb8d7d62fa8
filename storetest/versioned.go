package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// versionedChecks: SaveIf writes only over the version the caller names,
// every write gives a new version, and nothing else changes it.
var versionedChecks = []check{
	{"LoadVersion", testLoadVersion},
	{"LoadVersionMissing", testLoadVersionMissing},
	{"InsertIfAbsent", testInsertIfAbsent},
	{"InsertOverExpired", testInsertOverExpired},
	{"NewVersion", testSaveIfNewVersion},
	{"StaleAfterSaveIf", testStaleAfterSaveIf},
	{"StaleAfterSave", testStaleAfterSave},
	{"StaleAfterDelete", testStaleAfterDelete},
	{"StaleAfterExpiry", testStaleAfterExpiry},
	{"SaveIfPast", testSaveIfPast},
	{"TouchKeepsVersion", testTouchKeepsVersion},
	{"TouchLater", testVersionTouchLater},
	{"TouchEarlier", testVersionTouchEarlier},
	{"TouchPast", testVersionTouchPast},
	{"TouchMissing", testVersionTouchMissing},
	{"ExpiresReported", testExpiresReported},
	{"RaceOnVersion", testRaceOnVersion},
	{"RaceToInsert", testRaceToInsert},
	{"Increments", testIncrements},
	{"SaveIfCopies", testSaveIfCopies},
	{"LoadVersionCopies", testLoadVersionCopies},
}

// raceWriters is how many goroutines race one SaveIf.
const raceWriters = 16

func testLoadVersion(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("version:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	l := wantVersion(t, vs, key, []byte("value"), 0, "LoadVersion must return what Save stored, with a non-zero version")
	wantVersion(t, vs, key, []byte("value"), l.Version, "reading a record must not change its version")
	wantFound(t, s, key, []byte("value"), "Load must keep returning the data of a versioned store")

	empty := newKey("version:")
	mustSave(t, s, empty, []byte{}, time.Now().Add(longTTL))
	wantVersion(t, vs, empty, []byte{}, 0, "an empty record is found: LoadVersion must return a non-zero version for it")
}

func testLoadVersionMissing(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	wantNoVersion(t, vs, newKey("version:"), "LoadVersion of a missing key must report no record")
	past := newKey("version:")
	savePast(t, s, past, []byte("expired"))
	wantNoVersion(t, vs, past, "LoadVersion must never return an expired record")
}

func testInsertIfAbsent(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("insert:")
	exp := time.Now().Add(longTTL)
	v := mustSaveIf(t, vs, key, []byte("first"), exp, 0, "SaveIf with version 0 must insert a missing record")
	wantVersion(t, vs, key, []byte("first"), v, "LoadVersion must return the data and the version SaveIf returned")
	wantConflict(t, vs, key, []byte("second"), exp, 0, "SaveIf with version 0 must not overwrite a live record")
	wantVersion(t, vs, key, []byte("first"), v, "a conflicting SaveIf must write nothing")
	wantFound(t, s, key, []byte("first"), "a conflicting SaveIf must write nothing")

	empty := newKey("insert:")
	v = mustSaveIf(t, vs, empty, nil, exp, 0, "SaveIf with version 0 must insert a missing record, an empty one too")
	wantVersion(t, vs, empty, []byte{}, v, "LoadVersion must return the data and the version SaveIf returned")
	wantConflict(t, vs, empty, []byte("second"), exp, 0, "SaveIf with version 0 must not overwrite a live record, an empty one too")
}

func testInsertOverExpired(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	past, lapsed, deleted := newKey("insert:"), newKey("insert:"), newKey("insert:")
	savePast(t, s, past, []byte("expired"))
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, lapsed, []byte("lapsed"), deadline)
	mustSave(t, s, deleted, []byte("deleted"), time.Now().Add(longTTL))
	mustDelete(t, s, deleted)
	sleepPast(deadline)
	for _, key := range []string{past, lapsed, deleted} {
		v := mustSaveIf(t, vs, key, []byte("new"), time.Now().Add(longTTL), 0,
			"an expired or deleted record counts as absent: SaveIf with version 0 must replace it")
		wantVersion(t, vs, key, []byte("new"), v, "LoadVersion must return the data and the version SaveIf returned")
	}
}

func testSaveIfNewVersion(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("version:")
	exp := time.Now().Add(longTTL)
	mustSave(t, s, key, []byte("first"), exp)
	v := wantVersion(t, vs, key, []byte("first"), 0, "LoadVersion must return what Save stored").Version
	seen := map[store.Version]bool{v: true}
	// The same data each time: the version names the write, not the bytes.
	for i := range 5 {
		next := mustSaveIf(t, vs, key, []byte("same"), exp, v, "SaveIf with the version just loaded must succeed")
		if seen[next] {
			t.Fatalf("every write must give a new version: SaveIf #%d returned version %d, which the key had before", i+1, next)
		}
		seen[next] = true
		wantVersion(t, vs, key, []byte("same"), next, "LoadVersion must return the data and the version SaveIf returned")
		wantFound(t, s, key, []byte("same"), "Load must return what SaveIf stored")
		v = next
	}
}

func testStaleAfterSaveIf(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("stale:")
	exp := time.Now().Add(longTTL)
	v1 := mustSaveIf(t, vs, key, []byte("first"), exp, 0, "SaveIf with version 0 must insert a missing record")
	v2 := mustSaveIf(t, vs, key, []byte("second"), exp, v1, "SaveIf with the current version must succeed")
	wantConflict(t, vs, key, []byte("third"), exp, v1, "SaveIf with a version that another SaveIf replaced must conflict")
	wantVersion(t, vs, key, []byte("second"), v2, "a conflicting SaveIf must write nothing")
}

func testStaleAfterSave(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("stale:")
	exp := time.Now().Add(longTTL)
	v1 := mustSaveIf(t, vs, key, []byte("value"), exp, 0, "SaveIf with version 0 must insert a missing record")
	mustSave(t, s, key, []byte("value"), exp)
	v2 := wantVersion(t, vs, key, []byte("value"), 0, "LoadVersion must return what Save stored").Version
	if v2 == v1 {
		t.Fatalf("Save must give the record a new version, even with the same data: LoadVersion(%q) still returns version %d", key, v1)
	}
	wantConflict(t, vs, key, []byte("lost update"), exp, v1, "SaveIf with a version that a plain Save replaced must conflict")
	wantVersion(t, vs, key, []byte("value"), v2, "a conflicting SaveIf must write nothing")
}

func testStaleAfterDelete(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("stale:")
	exp := time.Now().Add(longTTL)
	v1 := mustSaveIf(t, vs, key, []byte("value"), exp, 0, "SaveIf with version 0 must insert a missing record")
	mustDelete(t, s, key)
	wantConflict(t, vs, key, []byte("resurrected"), exp, v1, "SaveIf with the version of a deleted record must conflict")
	wantNoVersion(t, vs, key, "SaveIf must not write a deleted record back")

	// The key is written again: the old version still must not match.
	mustSave(t, s, key, []byte("again"), exp)
	v2 := wantVersion(t, vs, key, []byte("again"), 0, "Save after Delete must store the new record").Version
	if v2 == v1 {
		t.Fatalf("a key must never get a version it had before: after Delete and Save, LoadVersion(%q) returns the old version %d", key, v1)
	}
	wantConflict(t, vs, key, []byte("resurrected"), exp, v1, "SaveIf with the version of a deleted record must conflict, after the key was written again too")
	wantVersion(t, vs, key, []byte("again"), v2, "a conflicting SaveIf must write nothing")
}

// testStaleAfterExpiry: once a record expired, reads report it absent
// within lateSlack, and SaveIf refuses its version within staleSlack.
func testStaleAfterExpiry(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("stale:")
	deadline := time.Now().Add(staleTTL)
	v1, err := vs.SaveIf(t.Context(), key, []byte("value"), deadline, 0)
	switch {
	case err == nil && v1 == 0 && !time.Now().Before(deadline):
		t.Fatalf("cannot check expiry: SaveIf(%q) returned after the deadline, %v after it started (machine too slow?)", key, staleTTL)
	case err != nil || v1 == 0:
		t.Fatalf("SaveIf with version 0 must insert a missing record: SaveIf(%q) = (%d, %v), want a non-zero version", key, v1, err)
	}
	sleepPast(deadline)
	wantNoVersion(t, vs, key, "LoadVersion must never return an expired record")
	time.Sleep(time.Until(deadline.Add(staleSlack)))
	wantConflict(t, vs, key, []byte("revived"), time.Now().Add(longTTL), v1,
		fmt.Sprintf("an expired record counts as absent: %v after the deadline, SaveIf with its version must conflict", staleSlack))
	wantNoVersion(t, vs, key, "SaveIf must not revive an expired record")
	v2 := mustSaveIf(t, vs, key, []byte("new"), time.Now().Add(longTTL), 0, "an expired record counts as absent: SaveIf with version 0 must replace it")
	if v2 == v1 {
		t.Fatalf("a key must never get a version it had before: SaveIf(%q) over the expired record returned its version %d again", key, v1)
	}
}

func testSaveIfPast(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	exp, past := time.Now().Add(longTTL), time.Now().Add(-time.Second)

	// With the right version, a past deadline removes the record.
	key := newKey("saveifpast:")
	v := mustSaveIf(t, vs, key, []byte("live"), exp, 0, "SaveIf with version 0 must insert a missing record")
	if got, err := vs.SaveIf(t.Context(), key, []byte("dead"), past, v); err != nil || got != 0 {
		t.Fatalf("SaveIf(%q) with the current version and a past deadline = (%d, %v), want (0, nil)", key, got, err)
	}
	wantNoVersion(t, vs, key, "SaveIf with a past deadline must remove the record")
	wantMissing(t, s, key, "SaveIf with a past deadline must remove the record")
	wantConflict(t, vs, key, []byte("revived"), exp, v, "SaveIf with the version of a removed record must conflict")
	wantNoVersion(t, vs, key, "SaveIf must not write a removed record back")

	// On a missing key, version 0 and a past deadline store nothing.
	key = newKey("saveifpast:")
	if got, err := vs.SaveIf(t.Context(), key, []byte("dead"), past, 0); err != nil || got != 0 {
		t.Fatalf("SaveIf(%q) of a missing key with version 0 and a past deadline = (%d, %v), want (0, nil)", key, got, err)
	}
	wantNoVersion(t, vs, key, "SaveIf with a past deadline must leave no record")

	// A conflict removes nothing, whatever the deadline.
	key = newKey("saveifpast:")
	v1 := mustSaveIf(t, vs, key, []byte("first"), exp, 0, "SaveIf with version 0 must insert a missing record")
	v2 := mustSaveIf(t, vs, key, []byte("second"), exp, v1, "SaveIf with the current version must succeed")
	wantConflict(t, vs, key, []byte("dead"), past, v1, "SaveIf with a stale version must conflict, with a past deadline too")
	wantConflict(t, vs, key, []byte("dead"), past, 0, "SaveIf with version 0 must conflict with a live record, with a past deadline too")
	wantVersion(t, vs, key, []byte("second"), v2, "a conflicting SaveIf must not remove the record")
}

// testTouchKeepsVersion moves the expiry of a record every way the store
// has, and checks that its version stays.
func testTouchKeepsVersion(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("touchversion:")
	exp := time.Now().Add(longTTL)
	v := mustSaveIf(t, vs, key, []byte("value"), exp, 0, "SaveIf with version 0 must insert a missing record")

	l := mustLoadVersion(t, vs, key, time.Now().Add(longTTL+time.Minute))
	if !l.Found() || string(l.Data) != "value" || l.Version != v {
		t.Fatalf("LoadVersion(%q) with a touch = (%s, version %d, found %v), want (%q, version %d): a touch must not change the version",
			key, show(l.Data), l.Version, l.Found(), "value", v)
	}
	wantVersion(t, vs, key, []byte("value"), v, "LoadVersion with a touch must not change the version")
	if tc, ok := s.(store.Toucher); ok {
		if err := tc.Touch(t.Context(), key, time.Now().Add(longTTL+2*time.Minute)); err != nil {
			t.Fatalf("Touch(%q): %v", key, err)
		}
		wantVersion(t, vs, key, []byte("value"), v, "Touch must not change the version")
	}
	if lt, ok := s.(store.LoadToucher); ok {
		wantLoadAndTouch(t, lt, key, time.Now().Add(longTTL+3*time.Minute), []byte("value"))
		wantVersion(t, vs, key, []byte("value"), v, "LoadAndTouch must not change the version")
	}
	mustSaveIf(t, vs, key, []byte("after touch"), exp, v, "SaveIf with the version loaded before a touch must succeed")
	wantFound(t, s, key, []byte("after touch"), "Load must return what SaveIf stored")
}

// testVersionTouchLater: LoadVersion moves the expiry later exactly when
// it reports Touched.
func testVersionTouchLater(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("touchversion:")
	deadline := time.Now().Add(shortTTL)
	v := mustSaveIf(t, vs, key, []byte("value"), deadline, 0, "SaveIf with version 0 must insert a missing record")
	l := wantLoadVersionTouch(t, vs, key, time.Now().Add(longTTL), []byte("value"), v)
	if !l.Touched {
		t.Log("LoadVersion reported Touched == false: the expiry must not have moved")
		wantExpires(t, s, key, []byte("value"), deadline)
		return
	}
	sleepPast(deadline)
	wantVersion(t, vs, key, []byte("value"), v, "LoadVersion reported Touched: the record must outlive its old deadline")
}

// testVersionTouchEarlier: LoadVersion moves the expiry earlier exactly
// when it reports Touched.
func testVersionTouchEarlier(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("touchversion:")
	v := mustSaveIf(t, vs, key, []byte("value"), time.Now().Add(longTTL), 0, "SaveIf with version 0 must insert a missing record")
	deadline := time.Now().Add(shortTTL)
	l := wantLoadVersionTouch(t, vs, key, deadline, []byte("value"), v)
	if l.Touched {
		t.Log("LoadVersion reported Touched: the record must expire at the touch deadline")
		wantExpires(t, s, key, []byte("value"), deadline)
		return
	}
	sleepPast(deadline)
	wantVersion(t, vs, key, []byte("value"), v, "LoadVersion reported Touched == false: the expiry must not have moved")
}

// testVersionTouchPast: a touch that is not in the future returns the
// record as it was; a store that touches leaves it expired.
func testVersionTouchPast(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("touchversion:")
	v := mustSaveIf(t, vs, key, []byte("value"), time.Now().Add(longTTL), 0, "SaveIf with version 0 must insert a missing record")
	l := wantLoadVersionTouch(t, vs, key, time.Now().Add(-time.Second), []byte("value"), v)
	if !l.Touched {
		wantVersion(t, vs, key, []byte("value"), v, "LoadVersion reported Touched == false: the expiry must not have moved")
		return
	}
	wantNoVersion(t, vs, key, "LoadVersion touched the record with a past deadline: it must be gone")
	wantMissing(t, s, key, "LoadVersion touched the record with a past deadline: it must be gone")
	wantConflict(t, vs, key, []byte("revived"), time.Now().Add(longTTL), v, "an expired record counts as absent: SaveIf with its version must conflict")
}

// testVersionTouchMissing: a touch never creates or revives a record.
func testVersionTouchMissing(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	missing, past, lapsed := newKey("touchversion:"), newKey("touchversion:"), newKey("touchversion:")
	savePast(t, s, past, []byte("value"))
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, lapsed, []byte("value"), deadline)
	sleepPast(deadline)
	for _, key := range []string{missing, past, lapsed} {
		l, err := vs.LoadVersion(t.Context(), key, time.Now().Add(longTTL))
		if err != nil {
			t.Fatalf("LoadVersion(%q) with a touch: unexpected error: %v", key, err)
		}
		if l.Found() || len(l.Data) != 0 || l.Touched {
			t.Fatalf("LoadVersion(%q) with a touch of a missing or expired record = (%s, version %d, touched %v), want (nil, version 0, touched false)",
				key, show(l.Data), l.Version, l.Touched)
		}
		wantNoVersion(t, vs, key, "a touch must not create or revive a record")
		wantMissing(t, s, key, "a touch must not create or revive a record")
	}
}

// testRaceOnVersion: of many SaveIfs of one version at once, exactly one
// wins.
func testRaceOnVersion(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("race:")
	v := mustSaveIf(t, vs, key, []byte("start"), time.Now().Add(longTTL), 0, "SaveIf with version 0 must insert a missing record")
	race(t, vs, key, v)
}

// testRaceToInsert: of many SaveIfs with version 0 on a missing key at
// once, exactly one wins.
func testRaceToInsert(t *testing.T, s store.Store) {
	race(t, capability[store.Versioned](t, s), newKey("race:"), 0)
}

// race runs raceWriters SaveIfs of version v under key at once and checks
// that exactly one succeeds, that the others conflict, and that the record
// is the winner's.
func race(t *testing.T, vs store.Versioned, key string, v store.Version) {
	t.Helper()
	exp := time.Now().Add(longTTL)
	type result struct {
		v   store.Version
		err error
	}
	var (
		results [raceWriters]result
		start   = make(chan struct{})
		wg      sync.WaitGroup
	)
	for i := range raceWriters {
		wg.Go(func() {
			<-start
			nv, err := vs.SaveIf(t.Context(), key, fmt.Appendf(nil, "writer %d", i), exp, v)
			results[i] = result{nv, err}
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, r := range results {
		switch {
		case r.err == nil && winner >= 0:
			t.Fatalf("%d SaveIfs of version %d raced: writers %d and %d both succeeded, want exactly one (the other must get store.ErrConflict)",
				raceWriters, v, winner, i)
		case r.err == nil:
			winner = i
		case !errors.Is(r.err, store.ErrConflict):
			t.Fatalf("%d SaveIfs of version %d raced: writer %d got %v, want success or an error wrapping store.ErrConflict", raceWriters, v, i, r.err)
		}
	}
	if winner < 0 {
		t.Fatalf("%d SaveIfs of version %d raced and all conflicted, want exactly one to succeed", raceWriters, v)
	}
	if results[winner].v == 0 || results[winner].v == v {
		t.Fatalf("SaveIf must return a new, non-zero version: the winner of the race got version %d (it wrote over %d)", results[winner].v, v)
	}
	wantVersion(t, vs, key, fmt.Appendf(nil, "writer %d", winner), results[winner].v, "after a race, the record must be the winner's")
}

// testIncrements runs workers that each add 1 to a shared counter many
// times, by LoadVersion and SaveIf, retrying on conflict: no increment may
// be lost.
func testIncrements(t *testing.T, s store.Store) {
	const (
		workers   = 4
		perWorker = 10
		maxTries  = 100 * workers * perWorker
	)
	vs := capability[store.Versioned](t, s)
	key := newKey("counter:")
	exp := time.Now().Add(longTTL)
	mustSaveIf(t, vs, key, []byte("0"), exp, 0, "SaveIf with version 0 must insert a missing record")
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			done, tries := 0, 0
			for done < perWorker {
				if tries++; tries > maxTries {
					errs <- fmt.Errorf("%d increments after %d tries: SaveIf keeps conflicting", done, maxTries)
					return
				}
				l, err := vs.LoadVersion(t.Context(), key, time.Time{})
				if err != nil || !l.Found() {
					errs <- fmt.Errorf("LoadVersion(%q) = (%s, version %d, %v), want the counter", key, show(l.Data), l.Version, err)
					return
				}
				var n int
				if _, err := fmt.Sscan(string(l.Data), &n); err != nil {
					errs <- fmt.Errorf("LoadVersion(%q) returned %s, not a counter: %v", key, show(l.Data), err)
					return
				}
				_, err = vs.SaveIf(t.Context(), key, fmt.Append(nil, n+1), exp, l.Version)
				switch {
				case err == nil:
					done++
				case !errors.Is(err, store.ErrConflict):
					errs <- fmt.Errorf("SaveIf(%q): %v, want success or an error wrapping store.ErrConflict", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	wantFound(t, s, key, fmt.Append(nil, workers*perWorker),
		fmt.Sprintf("%d workers each added 1 to a counter %d times with LoadVersion and SaveIf: no increment may be lost", workers, perWorker))
}

func testSaveIfCopies(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("alias:")
	exp := time.Now().Add(longTTL)
	data := []byte("original value")
	v := mustSaveIf(t, vs, key, data, exp, 0, "SaveIf with version 0 must insert a missing record")
	scribble(data)
	wantFound(t, s, key, []byte("original value"), "SaveIf must copy data: changing the caller's slice after SaveIf changed the record")
	data = []byte("second value")
	mustSaveIf(t, vs, key, data, exp, v, "SaveIf with the current version must succeed")
	scribble(data)
	wantFound(t, s, key, []byte("second value"), "SaveIf must copy data: changing the caller's slice after SaveIf changed the record")
}

func testLoadVersionCopies(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	key := newKey("alias:")
	v := mustSaveIf(t, vs, key, []byte("original value"), time.Now().Add(longTTL), 0, "SaveIf with version 0 must insert a missing record")
	l := wantVersion(t, vs, key, []byte("original value"), v, "LoadVersion must return what SaveIf stored")
	scribble(l.Data)
	wantFound(t, s, key, []byte("original value"), "LoadVersion must return a copy: changing the returned Data changed the record")
	l = wantLoadVersionTouch(t, vs, key, time.Now().Add(longTTL), []byte("original value"), v)
	scribble(l.Data)
	wantFound(t, s, key, []byte("original value"), "LoadVersion with a touch must return a copy: changing the returned Data changed the record")
}

// mustLoadVersion calls LoadVersion or ends the test.
func mustLoadVersion(t *testing.T, vs store.Versioned, key string, touch time.Time) store.Loaded {
	t.Helper()
	l, err := vs.LoadVersion(t.Context(), key, touch)
	if err != nil {
		t.Fatalf("LoadVersion(%q): unexpected error: %v", key, err)
	}
	return l
}

// wantVersion checks, without a touch, that key holds want with version v,
// or with any non-zero version when v is zero; rule says why it should. It
// returns what LoadVersion returned.
func wantVersion(t *testing.T, vs store.Versioned, key string, want []byte, v store.Version, rule string) store.Loaded {
	t.Helper()
	l := mustLoadVersion(t, vs, key, time.Time{})
	switch {
	case !l.Found():
		t.Fatalf("%s: LoadVersion(%q) found no record (version 0), want %s", rule, key, show(want))
	case string(l.Data) != string(want):
		t.Fatalf("%s: LoadVersion(%q) = %s", rule, key, mismatch(l.Data, want))
	case v != 0 && l.Version != v:
		t.Fatalf("%s: LoadVersion(%q) returned version %d, want %d", rule, key, l.Version, v)
	case l.Touched:
		t.Fatalf("LoadVersion(%q) without a touch reported Touched", key)
	}
	return l
}

// wantNoVersion checks that LoadVersion of key, without a touch, reports no
// record; rule says why there should be none.
func wantNoVersion(t *testing.T, vs store.Versioned, key string, rule string) {
	t.Helper()
	l := mustLoadVersion(t, vs, key, time.Time{})
	if l.Found() || len(l.Data) != 0 || l.Touched {
		t.Fatalf("%s: LoadVersion(%q) = (%s, version %d, touched %v), want (nil, version 0, touched false)",
			rule, key, show(l.Data), l.Version, l.Touched)
	}
}

// wantLoadVersionTouch calls LoadVersion with a touch and checks that it
// returns want with version v, as the record was before the touch.
func wantLoadVersionTouch(t *testing.T, vs store.Versioned, key string, touch time.Time, want []byte, v store.Version) store.Loaded {
	t.Helper()
	l := mustLoadVersion(t, vs, key, touch)
	switch {
	case !l.Found():
		t.Fatalf("LoadVersion(%q) with %s found no record, want %s (a touch returns the record as it was)",
			key, describeTouch(touch), show(want))
	case string(l.Data) != string(want):
		t.Fatalf("LoadVersion(%q) with %s = %s", key, describeTouch(touch), mismatch(l.Data, want))
	case l.Version != v:
		t.Fatalf("LoadVersion(%q) with %s returned version %d, want %d (a touch must not change the version)", key, describeTouch(touch), l.Version, v)
	}
	t.Logf("LoadVersion with %s: Touched = %v", describeTouch(touch), l.Touched)
	return l
}

// mustSaveIf calls SaveIf, which must succeed and, for a deadline in the
// future, return a non-zero version other than v; rule says why it should
// succeed. It returns the new version.
func mustSaveIf(t *testing.T, vs store.Versioned, key string, data []byte, expiresAt time.Time, v store.Version, rule string) store.Version {
	t.Helper()
	nv, err := vs.SaveIf(t.Context(), key, data, expiresAt, v)
	switch {
	case err != nil:
		t.Fatalf("%s: SaveIf(%q, %s, version %d): %v", rule, key, show(data), v, err)
	case nv == 0:
		t.Fatalf("SaveIf(%q, %s, version %d) returned version 0, want a new non-zero version", key, show(data), v)
	case nv == v:
		t.Fatalf("every write must give a new version: SaveIf(%q, %s, version %d) returned the same version", key, show(data), v)
	}
	return nv
}

// wantConflict calls SaveIf, which must fail with store.ErrConflict; rule
// says why it should.
func wantConflict(t *testing.T, vs store.Versioned, key string, data []byte, expiresAt time.Time, v store.Version, rule string) {
	t.Helper()
	nv, err := vs.SaveIf(t.Context(), key, data, expiresAt, v)
	switch {
	case err == nil:
		t.Fatalf("%s: SaveIf(%q, %s, version %d) succeeded (new version %d), want an error wrapping store.ErrConflict",
			rule, key, show(data), v, nv)
	case !errors.Is(err, store.ErrConflict):
		t.Fatalf("%s: SaveIf(%q, %s, version %d) = %v, want an error wrapping store.ErrConflict", rule, key, show(data), v, err)
	}
}

// describeTouch describes a touch deadline for a message.
func describeTouch(touch time.Time) string {
	if d := time.Until(touch).Round(time.Second); d > 0 {
		return fmt.Sprintf("a touch %v ahead", d)
	}
	return "a touch in the past"
}
