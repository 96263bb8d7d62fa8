package sessionsotel

import (
	"io"
	"testing"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// caps returns the optional interfaces s implements, as bits.
func caps(s store.Store) uint {
	var c uint
	if _, ok := s.(store.Versioned); ok {
		c |= capVersioned
	}
	if _, ok := s.(store.Toucher); ok {
		c |= capToucher
	}
	if _, ok := s.(store.LoadToucher); ok {
		c |= capLoadToucher
	}
	if _, ok := s.(store.ExpiredDeleter); ok {
		c |= capExpiredDeleter
	}
	if _, ok := s.(store.ExpiredReporter); ok {
		c |= capExpiredReporter
	}
	if _, ok := s.(io.Closer); ok {
		c |= capCloser
	}
	if _, ok := s.(store.Scanner); ok {
		c |= capScanner
	}
	if _, ok := s.(store.Clearer); ok {
		c |= capClearer
	}
	if _, ok := s.(store.OwnerIndex); ok {
		c |= capOwnerIndex
	}
	if _, ok := s.(store.MultiLoader); ok {
		c |= capMultiLoader
	}
	if _, ok := s.(store.IndexAddLister); ok {
		c |= capIndexAddLister
	}
	return c
}

// Each wrapper implements exactly the interfaces of its combination. A
// store.Clearer is a store.Versioned and a store.IndexAddLister a
// store.OwnerIndex: no store has the one without the other, and Store
// asks for no such combination.
func TestWrapKeepsExactlyTheInterfaces(t *testing.T) {
	n := 0
	for c := range uint(1 << numCaps) {
		if c&capClearer != 0 && c&capVersioned == 0 || c&capIndexAddLister != 0 && c&capOwnerIndex == 0 {
			continue
		}
		n++
		if got := caps(wrap(&base{}, c)); got != c {
			t.Errorf("wrap(%011b) implements %011b, want %011b", c, got, c)
		}
	}
	if want := (1 << (numCaps - 4)) * 3 * 3; n != want {
		t.Errorf("%d combinations checked, want %d", n, want)
	}
}

// plain is a store with no optional interface.
type plain struct{ store.Store }

// versionedOnlyStore has conditional writes and nothing else.
type versionedOnlyStore struct{ store.Versioned }

// indexOnlyStore has an owner index whose add does not list.
type indexOnlyStore struct {
	store.Versioned
	store.OwnerIndex
}

func TestStoreKeepsTheInnerStoresInterfaces(t *testing.T) {
	in, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	for _, st := range []store.Store{mem, plain{mem}, versionedOnlyStore{mem}, indexOnlyStore{mem, mem}} {
		if got, want := caps(in.Store(st)), caps(st); got != want {
			t.Errorf("%T: wrapped %011b, want %011b", st, got, want)
		}
	}
	if want := uint(1<<numCaps-1) &^ capClearer; caps(mem) != want {
		t.Errorf("the memory store has %011b, want %011b: every optional interface but store.Clearer (memcached's)", caps(mem), want)
	}
	if in.Store(nil) != nil {
		t.Error("Store(nil) is not nil")
	}
}
