package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// multiLoaderChecks: LoadVersions returns what LoadVersion does, key by
// key, in order, as copies.
var multiLoaderChecks = []check{
	{"Order", testLoadVersionsOrder},
	{"Many", testLoadVersionsMany},
	{"Copies", testLoadVersionsCopies},
	{"Context", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := capability[store.MultiLoader](t, s).LoadVersions(ctx, []string{newKey("multi:")})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("calls must honour ctx: LoadVersions with a done context returned %v, want an error wrapping %v", err, context.Canceled)
		}
	}},
}

// wantLoadVersions checks that LoadVersions(keys) returns, key by key,
// what LoadVersion returns.
func wantLoadVersions(t *testing.T, s store.Store, keys []string, rule string) []store.Loaded {
	t.Helper()
	got, err := capability[store.MultiLoader](t, s).LoadVersions(t.Context(), keys)
	if err != nil {
		t.Fatalf("LoadVersions of %d keys: unexpected error: %v", len(keys), err)
	}
	if len(got) != len(keys) {
		t.Fatalf("%s: LoadVersions of %d keys returned %d records", rule, len(keys), len(got))
	}
	vs := capability[store.Versioned](t, s)
	for i, key := range keys {
		want, err := vs.LoadVersion(t.Context(), key, time.Time{})
		if err != nil {
			t.Fatalf("LoadVersion(%q): unexpected error: %v", key, err)
		}
		if got[i].Version != want.Version || string(got[i].Data) != string(want.Data) || got[i].Touched {
			t.Fatalf("%s: LoadVersions returned for key %d (%q) version %d, data %s, touched %v; LoadVersion returns version %d, data %s",
				rule, i, key, got[i].Version, show(got[i].Data), got[i].Touched, want.Version, show(want.Data))
		}
	}
	return got
}

func testLoadVersionsOrder(t *testing.T, s store.Store) {
	a, b, missing, past := newKey("multi:"), newKey("multi:"), newKey("multi:"), newKey("multi:")
	mustSave(t, s, a, []byte("a"), time.Now().Add(longTTL))
	mustSave(t, s, b, []byte{}, time.Now().Add(longTTL))
	savePast(t, s, past, []byte("past"))
	got := wantLoadVersions(t, s, []string{b, missing, a, past, a}, "LoadVersions must return each record as LoadVersion does, in the order of the keys")
	if got[1].Found() || got[3].Found() {
		t.Fatal("LoadVersions must report a missing or expired record as not found")
	}
	if !got[0].Found() {
		t.Fatal("LoadVersions must find an empty record")
	}
	if got, err := capability[store.MultiLoader](t, s).LoadVersions(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("LoadVersions of no keys = %d records, %v; want none and no error", len(got), err)
	}
}

func testLoadVersionsMany(t *testing.T, s store.Store) {
	keys := make([]string, 1200)
	for i := range keys {
		keys[i] = newKey("multi:")
		if i%3 != 0 {
			mustSave(t, s, keys[i], randomBytes(20), time.Now().Add(longTTL))
		}
	}
	wantLoadVersions(t, s, keys, "LoadVersions of 1,200 keys must return each record")
}

func testLoadVersionsCopies(t *testing.T, s store.Store) {
	key := newKey("multi:")
	mustSave(t, s, key, []byte("original value"), time.Now().Add(longTTL))
	got := wantLoadVersions(t, s, []string{key, key}, "LoadVersions must return the record")
	for i := range got[0].Data {
		got[0].Data[i] = 'X'
	}
	wantFound(t, s, key, []byte("original value"), "LoadVersions must return a copy: changing it must not change the record")
	if string(got[1].Data) != "original value" {
		t.Fatalf("LoadVersions must return a copy for each key: changing one changed another to %s", show(got[1].Data))
	}
}
