package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"

	"github.com/sessionkit/sessions/internal/fastpath"
)

// TestScriptSHA1 checks the SHA-1 written down next to the script.
func TestScriptSHA1(t *testing.T) {
	for name, sc := range map[string]script{"saveIf": saveIf, "indexAdd": indexAdd, "indexRemove": indexRemove, "indexList": indexList, "indexAddList": indexAddList} {
		sum := sha1.Sum([]byte(sc.src))
		if got := hex.EncodeToString(sum[:]); got != sc.sha1 {
			t.Errorf("%s.sha1 = %s, want %s (the script changed)", name, sc.sha1, got)
		}
	}
}

// The store registers its uncopied load for itself, never for a type that
// embeds it and may override LoadVersion. Writes copy in the command, so
// there is no uncopied save; and Redis calls wait, so they get timeouts.
func TestFastPathRegistered(t *testing.T) {
	s := &Store{}
	p, ok := fastpath.Of(s)
	if !ok || p.LoadVersion == nil || p.SaveIf != nil || p.NoWait {
		t.Errorf("fastpath.Of(*Store) = (%+v, %v), want the uncopied load only", p, ok)
	}
	type wrapper struct{ *Store }
	if p, ok := fastpath.Of(wrapper{s}); ok {
		t.Errorf("fastpath.Of(wrapper) = (%+v, true), want no paths for a type that embeds the store", p)
	}
}
