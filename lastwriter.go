package sessions

import (
	"context"
	"time"

	"github.com/sessionkit/sessions/store"
)

// A lastWriter serves a store without conditional writes (no
// store.Versioned), where the last writer wins: it loads and saves
// records the plain way (session.persistUnversioned writes them). Only WithStore and WithManagedStore
// can bring such a store (every built-in store is Versioned), and they
// give the config one for it, so a program that never calls them links
// none of this code. Its method names are its own, for the reason
// rebinder's are.
type lastWriter struct {
	st      store.Store
	toucher store.LoadToucher // nil when the store cannot load and touch
}

// lastWriterOf returns the lastWriter of s, or nil if s has conditional
// writes.
func lastWriterOf(s store.Store) lastWriting {
	if _, ok := s.(store.Versioned); ok {
		return nil
	}
	lt, _ := s.(store.LoadToucher)
	return &lastWriter{st: s, toucher: lt}
}

// lastWriting is a lastWriter behind an interface, so that only the
// options that create one link its methods.
type lastWriting interface {
	plainLoad(ctx context.Context, key string, touch time.Time) (store.Loaded, error)
	plainSave(ctx context.Context, key string, rec []byte, expires time.Time) error
}

// plainLoad reads the record under key, moving its expiry to touch (if
// not zero) in the same round trip where the store can.
func (lw *lastWriter) plainLoad(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	var (
		l     store.Loaded
		found bool
		err   error
	)
	if !touch.IsZero() && lw.toucher != nil {
		l.Data, found, err = lw.toucher.LoadAndTouch(ctx, key, touch)
		l.Touched = found
	} else {
		l.Data, found, err = lw.st.Load(ctx, key)
	}
	if found {
		l.Version = unversioned
	}
	return l, err
}

// plainSave writes rec under key until expires.
func (lw *lastWriter) plainSave(ctx context.Context, key string, rec []byte, expires time.Time) error {
	return lw.st.Save(ctx, key, rec, expires)
}
