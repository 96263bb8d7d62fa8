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
	return c
}

// Each wrapper implements exactly the interfaces of its combination.
func TestWrapKeepsExactlyTheInterfaces(t *testing.T) {
	for c := range uint(1 << numCaps) {
		want := c
		if c&capVersioned == 0 {
			want &^= capClearer // a store.Clearer is a store.Versioned: no store has one without the other
		}
		if got := caps(wrap(&base{}, c)); got != want {
			t.Errorf("wrap(%010b) implements %010b, want %010b", c, got, want)
		}
	}
}

// plain is a store with no optional interface.
type plain struct{ store.Store }

// versionedOnlyStore has conditional writes and nothing else.
type versionedOnlyStore struct{ store.Versioned }

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
	for _, st := range []store.Store{mem, plain{mem}, versionedOnlyStore{mem}} {
		if got, want := caps(in.Store(st)), caps(st); got != want {
			t.Errorf("%T: wrapped %010b, want %010b", st, got, want)
		}
	}
	if want := uint(1<<numCaps-1) &^ capClearer; caps(mem) != want {
		t.Errorf("the memory store has %010b, want %010b: every optional interface but store.Clearer (memcached's)", caps(mem), want)
	}
	if in.Store(nil) != nil {
		t.Error("Store(nil) is not nil")
	}
}
