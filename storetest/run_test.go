package storetest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The reference store runs on the real clock, as stores with a server do;
// the other tests run each check in a synctest bubble, where the map
// store's waits for deadlines take no real time.

// correctStore returns a new store without bugs, with options a correct
// store may have (none of them is a bug).
func correctStore(options func(*mapStore)) func(*testing.T) store.Store {
	return func(*testing.T) store.Store {
		s := newMapStore("")
		options(s)
		return s
	}
}

func TestReferenceStorePasses(t *testing.T) {
	for name, options := range map[string]func(*mapStore){
		"LoadVersionTouches":      func(*mapStore) {},
		"LoadVersionDoesNotTouch": func(s *mapStore) { s.noLoadTouch = true },
		"BackendTTL":              func(s *mapStore) { s.backendTTL = true },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			Run(t, correctStore(options))
		})
	}
}

func TestReferenceStorePassesOnFakeClock(t *testing.T) {
	run(t, correctStore(func(*mapStore) {}), synctest.Test)
}

// Stores at the edges of what Run allows pass: records that lapse a little
// late or early on reads (within 150 ms late, 100 ms early), a
// compare-and-swap that still takes an expired record's version for two
// seconds (as memcached's does), racing writers that land in order.
func TestEdgeStoresPass(t *testing.T) {
	for name, options := range map[string]func(*mapStore){
		"140msLate":       func(s *mapStore) { s.skew = 140 * time.Millisecond },
		"70msEarly":       func(s *mapStore) { s.skew = -70 * time.Millisecond },
		"StaleCAS":        func(s *mapStore) { s.staleCAS = 2 * time.Second },
		"WriterZeroFirst": func(s *mapStore) { s.writerZeroFirst = true },
	} {
		t.Run(name, func(t *testing.T) { run(t, correctStore(options), synctest.Test) })
	}
}

func TestMinimalStorePasses(t *testing.T) {
	// Embedding hides the optional methods: their checks must skip.
	type minimal struct{ store.Store }
	run(t, func(*testing.T) store.Store { return minimal{newMapStore("")} }, synctest.Test)
}

// bugEnv selects the bug of the store TestBrokenChild runs Run against.
const bugEnv = "STORETEST_BUG"

// TestBrokenStoresFail runs Run against stores with one bug each, in
// subprocesses, and checks that the subtest for the broken rule fails.
func TestBrokenStoresFail(t *testing.T) {
	cases := []struct{ bug, failing string }{
		{bugIgnoresExpiry, "Expiry/ShortDeadline"},
		{bugNoOverwrite, "Overwrite/Data"},
		{bugNoDelete, "Delete/Removes"},
		{bugAliasSave, "Aliasing/SaveCopies"},
		{bugAliasLoad, "Aliasing/LoadCopies"},
		{bugIgnoresCtx, "Context/Canceled"},
		{bugFoldsCase, "Keys/SimilarKeys"},
		{bugEmptyIsMissing, "RoundTrip/Empty"},
		{bugTouchRevives, "Toucher/Expired"},
		{bugAliasLoadAndTouch, "LoadToucher/Copies"},
		{bugPastNeverExpires, "Expiry/PastDeadline"},
		{bugDeleteExpiredLive, "ExpiredDeleter/KeepsLive"},
		{bugExpiresLate, "Expiry/ShortDeadline"},
		{bugPastTouchMissing, "LoadToucher/Past"},
		{bugSaveIfIgnoresVersion, "Versioned/InsertIfAbsent"},
		{bugSaveIfResurrects, "Versioned/StaleAfterDelete"},
		{bugSaveIfIgnoresExpiry, "Versioned/StaleAfterExpiry"},
		{bugSaveKeepsVersion, "Versioned/StaleAfterSave"},
		{bugVersionReused, "Versioned/StaleAfterDelete"},
		{bugTouchChangesVersion, "Versioned/TouchKeepsVersion"},
		{bugTouchedLies, "Versioned/TouchLater"},
		{bugTouchUnreported, "Versioned/TouchLater"},
		{bugRacySaveIf, "Versioned/RaceOnVersion"},
		{bugTornSave, "Concurrency/ManyGoroutines"},
		{bugNoDelete, "Concurrency/ManyGoroutines"},
		{bugFarPastNeverExpires, "Expiry/PastDeadline"},
		{bugFarPastNeverExpires, "LoadToucher/Past"},
		{bugScanStopsAtLimit, "Scanner/All"},
		{bugScanIgnoresPrefix, "Scanner/All"},
		{bugScanPrefixAsPattern, "Scanner/PatternBytes"},
		{bugClearKeepsRecords, "Clearer/Ends"},
		{bugClearResurrects, "Clearer/NoResurrection"},
		{bugClearSameGeneration, "Clearer/SameGeneration"},
		{bugIndexNoReplace, "OwnerIndex/Replace"},
		{bugIndexListsExpired, "OwnerIndex/Expiry"},
		{bugIndexRacyAdd, "OwnerIndex/Concurrent"},
		{bugIndexInRecords, "OwnerIndex/SeparateFromRecords"},
		{bugIndexListCap, "OwnerIndex/Many"},
		{bugAddListOmitsNew, "IndexAddLister/Lists"},
		{bugAddListOnlyNew, "IndexAddLister/Lists"},
		{bugAddListRacy, "IndexAddLister/Concurrent"},
		{bugMultiSkipsMissing, "MultiLoader/Order"},
		{bugMultiAlias, "MultiLoader/Copies"},
		{bugMultiNoExpires, "Versioned/ExpiresReported"},
		{bugExpiresOld, "Versioned/ExpiresReported"},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() {
			t.Run(c.bug, func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), os.Args[0],
					"-test.run=^TestBrokenChild$", "-test.v", "-test.count=1", "-test.timeout=60s")
				cmd.Env = append(os.Environ(), bugEnv+"="+c.bug)
				out, err := cmd.CombinedOutput()
				if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) {
					t.Fatalf("Run passed a store with bug %s (err = %v):\n%s", c.bug, err, out)
				}
				if want := "--- FAIL: TestBrokenChild/" + c.failing + " "; !strings.Contains(string(out), want) {
					t.Fatalf("output does not contain %q:\n%s", want, out)
				}
			})
		})
	}
	wg.Wait()
}

// TestBrokenChild is the subprocess of TestBrokenStoresFail.
func TestBrokenChild(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		return // runs only as a subprocess of TestBrokenStoresFail
	}
	run(t, func(*testing.T) store.Store { return newMapStore(bug) }, synctest.Test)
}
