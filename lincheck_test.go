package sessions_test

import (
	"testing"

	"github.com/sessionkit/sessions/internal/lincheck"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memstore"
)

// TestLincheck checks random concurrent histories of browsers against
// the session lifecycle of LIFECYCLE.md (see internal/lincheck), on the
// memory and filesystem stores (their own owner indexes), and on the
// memory store without its owner index (indexes in records). Longer runs: -lincheck.histories=20000;
// a failing history prints its seed, for -lincheck.seed.
func TestLincheck(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		lincheck.Run(t, func(t *testing.T) store.Store {
			s, err := memstore.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}, lincheck.Config{Histories: 10, Seed: 1100})
	})
	t.Run("records", func(t *testing.T) {
		// The memory store without its own owner index: the manager
		// keeps indexes in records (the fallback of custom stores).
		lincheck.Run(t, func(t *testing.T) store.Store {
			s, err := memstore.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return struct{ store.Versioned }{s}
		}, lincheck.Config{Histories: 5, Seed: 7100})
	})
	t.Run("filesystem", func(t *testing.T) {
		lincheck.Run(t, func(t *testing.T) store.Store {
			s, err := fsstore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}, lincheck.Config{Histories: 5, Seed: 5100})
	})
}
