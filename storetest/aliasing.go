package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// aliasingChecks: the store and its callers never share a byte slice.
var aliasingChecks = []check{
	{"SaveCopies", testSaveCopies},
	{"LoadCopies", testLoadCopies},
}

func testSaveCopies(t *testing.T, s store.Store) {
	key := newKey("alias:")
	data := []byte("original value")
	mustSave(t, s, key, data, time.Now().Add(longTTL))
	scribble(data)
	wantFound(t, s, key, []byte("original value"), "Save must copy data: changing the caller's slice after Save changed the record")
}

func testLoadCopies(t *testing.T, s store.Store) {
	key := newKey("alias:")
	mustSave(t, s, key, []byte("original value"), time.Now().Add(longTTL))
	got, _ := mustLoad(t, s, key)
	scribble(got)
	wantFound(t, s, key, []byte("original value"), "Load must return a copy: changing the returned slice changed the record")
}

// scribble overwrites every byte of b.
func scribble(b []byte) {
	for i := range b {
		b[i] = 'X'
	}
}
