// Package storetest checks that a store.Store keeps the store contract.
//
// Every store in this module passes [Run], and so should yours. Call it
// from a test in your store's package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mystore.New()
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite covers binary round trips, overwrites, deletes, expiry enforced
// on read, key independence over the whole session-token alphabet, buffer
// ownership, context cancellation and concurrent use, plus the optional
// capabilities ([store.Toucher], [store.LoadToucher],
// [store.ExpiredDeleter], [store.Versioned], [store.Scanner],
// [store.Clearer], [store.OwnerIndex], [store.IndexAddLister],
// [store.MultiLoader]) that the store implements.
// Each failure names the rule the store broke.
//
// For [store.Versioned] the suite checks insert-if-absent, that every Save
// and SaveIf gives a new version and a touch keeps it, that a stale version
// conflicts after another write, a Delete or expiry (and writes nothing),
// that of many SaveIfs racing on one version exactly one wins, that
// increments by LoadVersion and SaveIf lose nothing, and that
// LoadVersion's Touched is true exactly when the expiry moved, and, for a
// store that reports the expiry a touched load set (Loaded.Expires), that
// it reports the expiry after a touch and after a write, through
// LoadVersions (or LoadVersion without [store.MultiLoader]).
//
// For [store.OwnerIndex] it checks that an add replaces the entry with the
// same ID, that removes and deadlines take entries out of lists, that an
// index is separate from the record under its key and from other indexes,
// that 2,000 entries list and remove, and that racing adds and removes
// lose nothing; for [store.IndexAddLister], that what IndexAddList lists
// is exactly the index right after its add (the new entry, those added
// before, none removed or past its deadline), and that of racing calls
// each lists its own entry and every add that returned before it began,
// and the later of two the other's; for [store.MultiLoader], that
// LoadVersions returns what LoadVersion does, key by key and in order, as
// copies.
//
// For [store.Clearer] it checks that Clear ends every record, Saved or
// written with SaveIf, that a SaveIf with a version read before Clear
// brings no record back, that writes after Clear are records as usual,
// and that SameGeneration tells versions on either side of a Clear apart.
// Clear ends every record of the store: give each store newStore returns
// records of its own.
//
// Some rules need real time to pass: records are saved with deadlines about
// 3 s ahead (room for a slow server under load), and the store must stop
// returning them within 150 ms of the deadline (and not drop them more than
// 100 ms before it). SaveIf must refuse the version of an expired record
// within 2.5 s of its deadline (a backend whose own expiry counts whole
// seconds, like memcached, accepts a compare-and-swap until it drops the
// item). The subtests run concurrently so those waits overlap; a fast
// store passes in about four seconds.
//
// This package imports only package store and the standard library, so it
// adds no dependency to the module that uses it.
package storetest
