package storetest

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// overwriteChecks: Save replaces both the data and the expiry of a record.
var overwriteChecks = []check{
	{"Data", testOverwriteData},
	{"LongExpiryWithShort", testOverwriteLongWithShort},
	{"ShortExpiryWithLong", testOverwriteShortWithLong},
	{"LiveWithPast", testOverwriteLiveWithPast},
}

func testOverwriteData(t *testing.T, s store.Store) {
	key := newKey("overwrite:")
	exp := time.Now().Add(longTTL)
	mustSave(t, s, key, []byte("first value, longer than the second"), exp)
	mustSave(t, s, key, []byte("second"), exp)
	wantFound(t, s, key, []byte("second"), "Save must overwrite the data of an existing record")
	mustSave(t, s, key, []byte{}, exp)
	wantFound(t, s, key, []byte{}, "Save must overwrite the data of an existing record, with an empty value too")
}

func testOverwriteLongWithShort(t *testing.T, s store.Store) {
	key := newKey("overwrite:")
	mustSave(t, s, key, []byte("long"), time.Now().Add(longTTL))
	deadline := time.Now().Add(shortTTL)
	mustSave(t, s, key, []byte("short"), deadline)
	wantExpires(t, s, key, []byte("short"), deadline)
}

func testOverwriteShortWithLong(t *testing.T, s store.Store) {
	key := newKey("overwrite:")
	short := time.Now().Add(shortTTL)
	mustSave(t, s, key, []byte("short"), short)
	mustSave(t, s, key, []byte("long"), time.Now().Add(longTTL))
	sleepPast(short)
	wantFound(t, s, key, []byte("long"), "Save must overwrite the expiry: a record re-saved with a later deadline must outlive the first one")
}

func testOverwriteLiveWithPast(t *testing.T, s store.Store) {
	key := newKey("overwrite:")
	mustSave(t, s, key, []byte("live"), time.Now().Add(longTTL))
	mustSave(t, s, key, []byte("dead"), time.Now().Add(-time.Second))
	wantMissing(t, s, key, "Save with a past deadline must replace the live record with an expired one")
}
