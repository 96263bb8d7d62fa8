package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// deleteChecks: Delete removes a record and is idempotent.
var deleteChecks = []check{
	{"Removes", testDeleteRemoves},
	{"MissingKey", testDeleteMissing},
	{"Twice", testDeleteTwice},
	{"SaveAfterDelete", testSaveAfterDelete},
}

func testDeleteRemoves(t *testing.T, s store.Store) {
	key := newKey("delete:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	mustDelete(t, s, key)
	wantMissing(t, s, key, "Delete must remove the record")
}

func testDeleteMissing(t *testing.T, s store.Store) {
	key := newKey("delete:")
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("deleting a missing key is not an error: Delete(%q) = %v", key, err)
	}
	wantMissing(t, s, key, "Delete of a missing key must not create a record")
}

func testDeleteTwice(t *testing.T, s store.Store) {
	key := newKey("delete:")
	mustSave(t, s, key, []byte("value"), time.Now().Add(longTTL))
	mustDelete(t, s, key)
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete must be idempotent: second Delete(%q) = %v", key, err)
	}
	wantMissing(t, s, key, "Delete must remove the record")
}

func testSaveAfterDelete(t *testing.T, s store.Store) {
	key := newKey("delete:")
	exp := time.Now().Add(longTTL)
	mustSave(t, s, key, []byte("old"), exp)
	mustDelete(t, s, key)
	mustSave(t, s, key, []byte("new"), exp)
	wantFound(t, s, key, []byte("new"), "Save after Delete must store the new record")
}
