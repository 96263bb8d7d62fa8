package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// keyChecks: every key names its own record, over the whole alphabet of the
// keys the manager makes.
var keyChecks = []check{
	{"Independent", testIndependentKeys},
	{"SimilarKeys", testSimilarKeys},
	{"Alphabet", testAlphabet},
}

func testIndependentKeys(t *testing.T, s store.Store) {
	a, b := newKey("indep:"), newKey("indep:")
	exp := time.Now().Add(longTTL)
	mustSave(t, s, a, []byte("a"), exp)
	mustSave(t, s, b, []byte("b"), exp)
	mustSave(t, s, b, []byte("b2"), exp)
	wantFound(t, s, a, []byte("a"), "saving one key must not change another")
	mustDelete(t, s, a)
	wantFound(t, s, b, []byte("b2"), "deleting one key must not remove another")
	wantMissing(t, s, a, "Delete must remove the record")
}

// testSimilarKeys saves keys that differ only by case, a last character, a
// suffix or a prefix, and checks that each keeps its own record.
func testSimilarKeys(t *testing.T, s store.Store) {
	token := randomToken(tokenLen-1) + "a"
	mustHaveLen(t, token, tokenLen)
	base := "sess:" + token
	keys := []string{
		base,
		"Sess:" + token,
		"sess:" + strings.ToUpper(token),
		"sess:" + strings.ToLower(token),
		base[:len(base)-1],
		base[:len(base)-1] + "A",
		base[:len(base)-1] + "-",
		base[:len(base)-1] + "_",
		base + "a",
		base + ":",
		base + "-",
		"x" + base,
		"sess" + token,
		token,
	}
	checkKeys(t, s, dedupe(keys))
}

// testAlphabet uses every character of the token alphabet, after several
// prefixes, in keys of up to 100 bytes.
func testAlphabet(t *testing.T, s store.Store) {
	var keys []string
	for _, prefix := range []string{"", "session:", "app/v2:sess:"} {
		// Two tokens cover the 64 characters; the random tails keep runs
		// against a shared backend apart.
		tail := tokenLen - len(alphabet)/2
		long := prefix + randomToken(100-len(prefix))
		mustHaveLen(t, long, 100)
		for _, half := range []string{alphabet[:32], alphabet[32:]} {
			token := half + randomToken(tail)
			mustHaveLen(t, token, tokenLen)
			keys = append(keys, prefix+token)
		}
		keys = append(keys, long)
	}
	checkKeys(t, s, keys)
}

// mustHaveLen stops a check whose own test data came out of shape.
func mustHaveLen(t *testing.T, s string, n int) {
	t.Helper()
	if len(s) != n {
		t.Fatalf("storetest: built %q of %d bytes, want %d", s, len(s), n)
	}
}

// checkKeys saves a distinct value under each key, checks each, deletes
// every other key and checks that the rest remain.
func checkKeys(t *testing.T, s store.Store, keys []string) {
	t.Helper()
	exp := time.Now().Add(longTTL)
	for _, k := range keys {
		mustSave(t, s, k, []byte("value of "+k), exp)
	}
	for _, k := range keys {
		wantFound(t, s, k, []byte("value of "+k), "each key must keep its own record (keys are case-sensitive byte strings)")
	}
	for i, k := range keys {
		if i%2 == 0 {
			mustDelete(t, s, k)
		}
	}
	for i, k := range keys {
		if i%2 == 0 {
			wantMissing(t, s, k, "Delete must remove the record")
		} else {
			wantFound(t, s, k, []byte("value of "+k), "deleting a key must not remove a similar one")
		}
	}
}

// dedupe returns keys without repeats, in order.
func dedupe(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
