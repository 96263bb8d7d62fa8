package lincheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessions/store"
)

// A faultKind is a store fault the checker injects.
type faultKind uint8

const (
	failBefore    faultKind     = iota // the call fails without reaching the store
	failAfter                          // the call reaches the store, then reports a failure
	timeoutBefore                      // the call hangs past the store timeout and fails without reaching the store
	timeoutAfter                       // the call hangs past the store timeout, reaches the store anyway, and fails
	numInjected                        // the kinds above are injected; the one below is not
	storeError    = numInjected        // a call failed of itself: a loaded machine made it miss the store timeout, say
	numFaultKinds = numInjected + 1
)

var faultNames = [...]string{"fail-before", "fail-after", "timeout-before", "timeout-after", "store error"}

func (k faultKind) String() string { return faultNames[k] }

// A faultPlan injects one fault into one operation: into its nth store
// call (counting from 1), if it makes that many.
type faultPlan struct {
	call int
	kind faultKind
}

// failed reports whether err, from a store call, is a failure of the
// store: not one of the answers the contract defines (a conflicting
// conditional write, a record over the store's size limit), nor the end
// of a request whose client hung up, which the model knows of already.
func failed(err error) bool {
	return err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrTooLarge) && !errors.Is(err, context.Canceled)
}

// errInjected is the failure of an injected fault.
var errInjected = errors.New("lincheck: injected store fault")

// faultStore wraps a versioned store (so conditional writes stay) and
// injects into each call the fault planned for the operation whose request
// context the call carries. Wrapping hides the memory and Redis stores'
// uncopied fast paths from the manager; every call goes through here.
type faultStore struct {
	inner store.Versioned
	// hang bounds a timeout fault of a call whose context has no deadline
	// (every call the manager makes has one: the store timeout).
	hang time.Duration
}

var _ store.Versioned = (*faultStore)(nil)

// do runs perform, the call to the wrapped store, with the fault planned
// for this call, if any.
func (f *faultStore) do(ctx context.Context, perform func(context.Context) error) error {
	o := opFrom(ctx)
	if o == nil || o.plan.fault == nil || int(o.storeCalls.Add(1)) != o.plan.fault.call {
		err := perform(ctx)
		if o != nil && failed(err) {
			// The operation met a store fault all the same, which the
			// model must allow for as for an injected one.
			o.faulted.CompareAndSwap(0, int32(storeError)+1)
		}
		return err
	}
	kind := o.plan.fault.kind
	o.faulted.Store(int32(kind) + 1)
	switch kind {
	case failBefore:
		return errInjected
	case failAfter:
		if err := perform(ctx); err != nil {
			return err
		}
		return errInjected
	}
	t := time.NewTimer(f.hang)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	if kind == timeoutAfter {
		// Late, as a store that was slow to answer but did the work.
		if err := perform(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lincheck: store call hung: %w", err)
	}
	return errInjected
}

func (f *faultStore) Load(ctx context.Context, key string) (data []byte, found bool, err error) {
	err = f.do(ctx, func(ctx context.Context) (err error) {
		data, found, err = f.inner.Load(ctx, key)
		return err
	})
	return data, found, err
}

func (f *faultStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	return f.do(ctx, func(ctx context.Context) error { return f.inner.Save(ctx, key, data, expiresAt) })
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	return f.do(ctx, func(ctx context.Context) error { return f.inner.Delete(ctx, key) })
}

func (f *faultStore) LoadVersion(ctx context.Context, key string, touch time.Time) (l store.Loaded, err error) {
	err = f.do(ctx, func(ctx context.Context) (err error) {
		l, err = f.inner.LoadVersion(ctx, key, touch)
		return err
	})
	return l, err
}

func (f *faultStore) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (v store.Version, err error) {
	err = f.do(ctx, func(ctx context.Context) (err error) {
		v, err = f.inner.SaveIf(ctx, key, data, expiresAt, version)
		return err
	})
	return v, err
}

// indexedFaultStore is faultStore for a store that also keeps owner
// indexes and loads many records at once: those calls get faults too.
type indexedFaultStore struct {
	*faultStore
	index store.OwnerIndex
	multi store.MultiLoader
}

var (
	_ store.OwnerIndex  = indexedFaultStore{}
	_ store.MultiLoader = indexedFaultStore{}
)

// wrapFaults wraps vst in the fault store with the capabilities it has
// that the manager uses for owner indexes.
func wrapFaults(vst store.Versioned, hang time.Duration) store.Versioned {
	f := &faultStore{inner: vst, hang: hang}
	index, ok := vst.(store.OwnerIndex)
	multi, ok2 := vst.(store.MultiLoader)
	if !ok || !ok2 {
		return f
	}
	return indexedFaultStore{f, index, multi}
}

func (f indexedFaultStore) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	return f.do(ctx, func(ctx context.Context) error { return f.index.IndexAdd(ctx, key, e) })
}

func (f indexedFaultStore) IndexRemove(ctx context.Context, key string, ids ...string) error {
	return f.do(ctx, func(ctx context.Context) error { return f.index.IndexRemove(ctx, key, ids...) })
}

func (f indexedFaultStore) IndexList(ctx context.Context, key string) (list []store.IndexEntry, err error) {
	err = f.do(ctx, func(ctx context.Context) (err error) {
		list, err = f.index.IndexList(ctx, key)
		return err
	})
	return list, err
}

func (f indexedFaultStore) LoadVersions(ctx context.Context, keys []string) (ls []store.Loaded, err error) {
	err = f.do(ctx, func(ctx context.Context) (err error) {
		ls, err = f.multi.LoadVersions(ctx, keys)
		return err
	})
	return ls, err
}
