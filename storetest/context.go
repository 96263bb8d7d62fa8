package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// contextChecks: every call honours a context that is done before it starts.
var contextChecks = []check{
	{"Canceled", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		checkContext(t, s, ctx, context.Canceled)
	}},
	{"DeadlineExceeded", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		checkContext(t, s, ctx, context.DeadlineExceeded)
	}},
}

// checkContext calls every method of s with ctx, which is done, and checks
// that each returns an error wrapping want.
func checkContext(t *testing.T, s store.Store, ctx context.Context, want error) {
	key := newKey("ctx:")
	exp := time.Now().Add(longTTL)
	mustSave(t, s, key, []byte("value"), exp)

	expect := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("calls must honour ctx: %s with a done context returned %v, want an error wrapping %v", method, err, want)
		}
	}
	_, _, err := s.Load(ctx, key)
	expect("Load", err)
	expect("Save", s.Save(ctx, key, []byte("other"), exp))
	expect("Delete", s.Delete(ctx, key))
	if tc, ok := s.(store.Toucher); ok {
		expect("Touch", tc.Touch(ctx, key, exp))
	}
	if lt, ok := s.(store.LoadToucher); ok {
		_, _, err := lt.LoadAndTouch(ctx, key, exp)
		expect("LoadAndTouch", err)
	}
	if ed, ok := s.(store.ExpiredDeleter); ok {
		_, err := ed.DeleteExpired(ctx)
		expect("DeleteExpired", err)
	}
	if vs, ok := s.(store.Versioned); ok {
		v := mustLoadVersion(t, vs, key, time.Time{}).Version
		_, err := vs.LoadVersion(ctx, key, time.Time{})
		expect("LoadVersion", err)
		_, err = vs.LoadVersion(ctx, key, exp)
		expect("LoadVersion with a touch", err)
		_, err = vs.SaveIf(ctx, key, []byte("other"), exp, v)
		expect("SaveIf", err)
		_, err = vs.SaveIf(ctx, newKey("ctx:"), []byte("other"), exp, 0)
		expect("SaveIf with version 0", err)
	}
}
