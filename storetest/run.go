package storetest

import (
	"sync"
	"testing"

	"github.com/sessionkit/sessions/store"
)

// Run runs the conformance suite against stores made by newStore.
//
// newStore is called once per subtest, with that subtest's t, and should
// register any cleanup (closing the store, dropping a table) with
// t.Cleanup. The subtests run concurrently, so newStore is called from
// several goroutines at once. Every subtest uses its own random keys, so
// the stores may share one backend as long as newStore does not wipe
// records that other calls' stores hold. For a store.Clearer, whose Clear
// ends every record of the store, each call's store must have records of
// its own (a key prefix, a database, a namespace of the store's own).
//
// Run returns when every subtest has finished.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	run(t, newStore, nil)
}

// An isolator runs f, the body of one check (newStore, then the check), as
// part of the test t. The self-test passes synctest.Test, so that the
// checks of a store that reads time.Now wait on a fake clock.
type isolator func(t *testing.T, f func(t *testing.T))

// run is Run, with each check's body run by isolate when it is not nil.
func run(t *testing.T, newStore func(t *testing.T) store.Store, isolate isolator) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storetest.Run: newStore is nil")
	}
	groups := []group{
		{"RoundTrip", roundTripChecks},
		{"Overwrite", overwriteChecks},
		{"Delete", deleteChecks},
		{"Expiry", expiryChecks},
		{"Keys", keyChecks},
		{"Aliasing", aliasingChecks},
		{"Context", contextChecks},
		{"Concurrency", concurrencyChecks},
	}
	// The optional capabilities are checked where the store has them.
	t.Run("Capabilities", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []struct {
			name string
			has  bool
			g    group
		}{
			{"store.Toucher", is[store.Toucher](s), group{"Toucher", toucherChecks}},
			{"store.LoadToucher", is[store.LoadToucher](s), group{"LoadToucher", loadToucherChecks}},
			{"store.ExpiredDeleter", is[store.ExpiredDeleter](s), group{"ExpiredDeleter", expiredDeleterChecks}},
			{"store.Versioned", is[store.Versioned](s), group{"Versioned", versionedChecks}},
			{"store.Scanner", is[store.Scanner](s), group{"Scanner", scannerChecks}},
			{"store.Clearer", is[store.Clearer](s), group{"Clearer", clearerChecks}},
			{"store.OwnerIndex", is[store.OwnerIndex](s), group{"OwnerIndex", ownerIndexChecks}},
			{"store.IndexAddLister", is[store.IndexAddLister](s), group{"IndexAddLister", indexAddListChecks}},
			{"store.MultiLoader", is[store.MultiLoader](s) && is[store.Versioned](s), group{"MultiLoader", multiLoaderChecks}},
		} {
			if c.has {
				groups = append(groups, c.g)
			}
			t.Logf("%s: %v", c.name, c.has)
		}
	})
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			t.Run(g.name, func(t *testing.T) { runChecks(t, g.checks, newStore, isolate) })
		})
	}
	wg.Wait()
}

func is[C any](s store.Store) bool {
	_, ok := s.(C)
	return ok
}

// A group is a named set of related checks.
type group struct {
	name   string
	checks []check
}

// A check tests one rule of the contract against a fresh store.
type check struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// runChecks runs every check as a subtest of t, all at once, each with a
// store of its own. Calling t.Run from several goroutines runs the subtests
// concurrently without the -parallel limit, so the waits for deadlines
// overlap even on a one-CPU machine.
func runChecks(t *testing.T, checks []check, newStore func(t *testing.T) store.Store, isolate isolator) {
	var wg sync.WaitGroup
	for _, c := range checks {
		body := func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil store")
			}
			c.run(t, s)
		}
		wg.Go(func() {
			t.Run(c.name, func(t *testing.T) {
				if isolate != nil {
					isolate(t, body)
					return
				}
				body(t)
			})
		})
	}
	wg.Wait()
}
