package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// scannerChecks: a scan returns every live key with its prefix, none
// without it, in batches near the limit, and ends.
var scannerChecks = []check{
	{"All", testScanAll},
	{"Empty", func(t *testing.T, s store.Store) {
		keys, err := scanAll(t, s, newKey("scan-none:")+":", 10)
		if err != nil {
			t.Fatalf("Scan: unexpected error: %v", err)
		}
		if len(keys) != 0 {
			t.Fatalf("a scan of a prefix that no key has returned %v", keys)
		}
	}},
	{"PatternBytes", testScanPatternBytes},
	{"Context", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := capability[store.Scanner](t, s).Scan(ctx, "scan:", "", 10)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("calls must honour ctx: Scan with a done context returned %v, want an error wrapping %v", err, context.Canceled)
		}
	}},
}

// maxScanCalls bounds the calls of one scan, so that a store whose scan
// never ends fails instead of hanging.
const maxScanCalls = 100000

// scanAll runs a whole scan of prefix with limit, and returns the keys
// returned, once each. It fails the test when a batch is far above limit,
// a key lacks the prefix, or the scan does not end.
func scanAll(t *testing.T, s store.Store, prefix string, limit int) (map[string]bool, error) {
	t.Helper()
	sc := capability[store.Scanner](t, s)
	keys := map[string]bool{}
	cursor := ""
	for range maxScanCalls {
		batch, next, err := sc.Scan(t.Context(), prefix, cursor, limit)
		if err != nil {
			return nil, err
		}
		if len(batch) > 4*limit {
			t.Fatalf("Scan(%q, limit %d) returned %d keys: a batch must stay near the limit", prefix, limit, len(batch))
		}
		for _, k := range batch {
			if len(k) < len(prefix) || k[:len(prefix)] != prefix {
				t.Fatalf("Scan(%q) returned %q, which lacks the prefix", prefix, k)
			}
			keys[k] = true
		}
		if next == "" {
			return keys, nil
		}
		cursor = next
	}
	t.Fatalf("Scan(%q) did not end after %d calls", prefix, maxScanCalls)
	return nil, nil
}

// testScanAll: every live key with the prefix is returned, deleted ones
// and those of other prefixes are not, whatever the limit.
func testScanAll(t *testing.T, s store.Store) {
	prefix := newKey("scan:") + ":"
	exp := time.Now().Add(longTTL)
	want := map[string]bool{}
	for range 23 {
		k := newKey(prefix)
		mustSave(t, s, k, []byte("v"), exp)
		want[k] = true
	}
	deleted := newKey(prefix)
	mustSave(t, s, deleted, []byte("v"), exp)
	mustDelete(t, s, deleted)
	// Keys that share all but the prefix's last byte, or extend a shorter
	// prefix, are not the prefix's.
	others := []string{prefix[:len(prefix)-1] + "x" + randomToken(8), prefix[:len(prefix)-1]}
	for _, k := range others {
		mustSave(t, s, k, []byte("v"), exp)
	}
	for _, limit := range []int{1, 5, 100} {
		got, err := scanAll(t, s, prefix, limit)
		if err != nil {
			t.Fatalf("Scan(%q, limit %d): unexpected error: %v", prefix, limit, err)
		}
		for k := range want {
			if !got[k] {
				t.Fatalf("a scan must return every live key with its prefix: Scan(%q, limit %d) missed %q", prefix, limit, k)
			}
		}
		if got[deleted] {
			t.Fatalf("Scan(%q, limit %d) returned %q, deleted before the scan", prefix, limit, deleted)
		}
		if len(got) != len(want) {
			t.Fatalf("Scan(%q, limit %d) returned %d keys, want %d", prefix, limit, len(got), len(want))
		}
	}
}

// testScanPatternBytes: a prefix with bytes that patterns give a meaning
// (Redis MATCH, SQL LIKE) is taken literally. A store may refuse such a
// prefix with errors.ErrUnsupported.
func testScanPatternBytes(t *testing.T, s store.Store) {
	prefix := "scan*?[a]%_\\" + randomToken(12) + ":"
	exp := time.Now().Add(longTTL)
	key := prefix + randomToken(tokenLen)
	mustSave(t, s, key, []byte("v"), exp)
	// Each matches prefix read as a pattern, not as it is.
	decoys := []string{
		"scanXYa%_\\" + prefix[len("scan*?[a]%_\\"):] + randomToken(8),
		"scan*?a" + prefix[len("scan*?[a]"):] + randomToken(8),
		"scan*?[a]xx\\" + prefix[len("scan*?[a]%_\\"):] + randomToken(8),
	}
	for _, k := range decoys {
		mustSave(t, s, k, []byte("v"), exp)
	}
	got, err := scanAll(t, s, prefix, 10)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Logf("the store cannot list keys with prefix %q: %v", prefix, err)
		return
	}
	if err != nil {
		t.Fatalf("Scan(%q): unexpected error: %v", prefix, err)
	}
	if len(got) != 1 || !got[key] {
		t.Fatalf("Scan(%q) returned %v, want only %q: the prefix is taken literally", prefix, got, key)
	}
}
