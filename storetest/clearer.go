package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// clearerChecks: Clear ends every record, no write with an older version
// brings one back, later writes are not affected, and SameGeneration
// tells writes on either side of a Clear apart.
var clearerChecks = []check{
	{"Ends", testClearEnds},
	{"NoResurrection", testClearNoResurrection},
	{"WritesAfter", testClearWritesAfter},
	{"SameGeneration", testClearSameGeneration},
	{"Context", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := capability[store.Clearer](t, s).Clear(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("calls must honour ctx: Clear with a done context returned %v, want an error wrapping %v", err, context.Canceled)
		}
	}},
}

func mustClear(t *testing.T, s store.Store) {
	t.Helper()
	if err := capability[store.Clearer](t, s).Clear(t.Context()); err != nil {
		t.Fatalf("Clear: unexpected error: %v", err)
	}
}

// testClearEnds: records written with Save and with SaveIf read as
// missing after Clear, through Load and LoadVersion.
func testClearEnds(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	exp := time.Now().Add(longTTL)
	saved, inserted := newKey("clear:"), newKey("clear:")
	mustSave(t, s, saved, []byte("saved"), exp)
	v := mustSaveIf(t, vs, inserted, []byte("inserted"), exp, 0, "SaveIf with version 0 must insert a new record")
	mustSaveIf(t, vs, inserted, []byte("updated"), exp, v, "SaveIf with the current version must write")
	mustClear(t, s)
	for _, key := range []string{saved, inserted} {
		wantMissing(t, s, key, "every record written before Clear must read as missing after it")
		wantNoVersion(t, vs, key, "LoadVersion must report no record for a key written before Clear")
	}
}

// testClearNoResurrection: a conditional write with a version read
// before Clear fails, or leaves a record that still reads as missing.
func testClearNoResurrection(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	exp := time.Now().Add(longTTL)
	loaded, written := newKey("clear:"), newKey("clear:")
	mustSave(t, s, loaded, []byte("v"), exp)
	l := mustLoadVersion(t, vs, loaded, time.Time{})
	w := mustSaveIf(t, vs, written, []byte("v"), exp, 0, "SaveIf with version 0 must insert a new record")
	mustClear(t, s)
	for key, v := range map[string]store.Version{loaded: l.Version, written: w} {
		_, err := vs.SaveIf(t.Context(), key, []byte("revived"), exp, v)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			t.Fatalf("SaveIf with a version from before Clear: unexpected error: %v", err)
		}
		wantMissing(t, s, key, "a write with a version read before Clear must not bring the record back")
	}
}

// testClearWritesAfter: writes after Clear, under keys written before it
// or new ones, are records as usual.
func testClearWritesAfter(t *testing.T, s store.Store) {
	vs := capability[store.Versioned](t, s)
	exp := time.Now().Add(longTTL)
	old, fresh, plain := newKey("clear:"), newKey("clear:"), newKey("clear:")
	mustSave(t, s, old, []byte("before"), exp)
	mustClear(t, s)
	v := mustSaveIf(t, vs, old, []byte("after"), exp, 0, "SaveIf with version 0 must insert over a record that Clear ended")
	wantVersion(t, vs, old, []byte("after"), v, "a record written after Clear must read as written")
	v2 := mustSaveIf(t, vs, old, []byte("again"), exp, v, "SaveIf with the version of a record written after Clear must write")
	wantVersion(t, vs, old, []byte("again"), v2, "a record written after Clear must read as written")
	mustSaveIf(t, vs, fresh, []byte("new"), exp, 0, "SaveIf with version 0 must insert after Clear")
	wantFound(t, s, fresh, []byte("new"), "a record written after Clear must read as written")
	mustSave(t, s, plain, []byte("plain"), exp)
	wantFound(t, s, plain, []byte("plain"), "a record saved after Clear must read as written")
}

// testClearSameGeneration: versions of writes with no Clear between them
// are of one generation, versions on either side of a Clear are not.
func testClearSameGeneration(t *testing.T, s store.Store) {
	cl := capability[store.Clearer](t, s)
	exp := time.Now().Add(longTTL)
	a, b, c := newKey("clear:"), newKey("clear:"), newKey("clear:")
	va := mustSaveIf(t, cl, a, []byte("a"), exp, 0, "SaveIf with version 0 must insert a new record")
	vb := mustSaveIf(t, cl, b, []byte("b"), exp, 0, "SaveIf with version 0 must insert a new record")
	vb = mustSaveIf(t, cl, b, []byte("b2"), exp, vb, "SaveIf with the current version must write")
	if !cl.SameGeneration(va, vb) {
		t.Fatalf("SameGeneration(%d, %d) = false for two writes with no Clear between them", va, vb)
	}
	mustClear(t, s)
	vc := mustSaveIf(t, cl, c, []byte("c"), exp, 0, "SaveIf with version 0 must insert a new record")
	if cl.SameGeneration(va, vc) || cl.SameGeneration(vc, vb) {
		t.Fatalf("SameGeneration = true for writes before (%d, %d) and after (%d) a Clear", va, vb, vc)
	}
	lc := mustLoadVersion(t, cl, c, time.Time{})
	vc2 := mustSaveIf(t, cl, c, []byte("c2"), exp, lc.Version, "SaveIf with the current version must write")
	if !cl.SameGeneration(vc, vc2) || !cl.SameGeneration(lc.Version, vc2) {
		t.Fatalf("SameGeneration = false for writes after one Clear with none between them (%d, %d, %d)", vc, lc.Version, vc2)
	}
}
