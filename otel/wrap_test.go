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
	return c
}

// Each wrapper implements exactly the interfaces of its combination.
func TestWrapKeepsExactlyTheInterfaces(t *testing.T) {
	for c := range uint(1 << numCaps) {
		if got := caps(wrap(&base{}, c)); got != c {
			t.Errorf("wrap(%07b) implements %07b", c, got)
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
			t.Errorf("%T: wrapped %07b, want %07b", st, got, want)
		}
	}
	if caps(mem) != 1<<numCaps-1 {
		t.Errorf("the memory store has %07b, want every optional interface", caps(mem))
	}
	if in.Store(nil) != nil {
		t.Error("Store(nil) is not nil")
	}
}
