package memstore

import (
	"fmt"
	"testing"
	"time"
)

// benchKeys returns n keys shaped like the manager's.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("session:%043d", i)
	}
	return keys
}

// filled returns a store holding a 128-byte record under each of keys.
func filled(b *testing.B, keys []string) *Store {
	s := New()
	b.Cleanup(func() { s.Close() })
	value := make([]byte, 128)
	exp := time.Now().Add(time.Hour)
	for _, k := range keys {
		if err := s.Save(b.Context(), k, value, exp); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkLoad(b *testing.B) {
	keys := benchKeys(1024)
	s := filled(b, keys)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Load(ctx, keys[i&1023]); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i++
	}
}

func BenchmarkLoadParallel(b *testing.B) {
	keys := benchKeys(1024)
	s := filled(b, keys)
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, err := s.Load(ctx, keys[i&1023]); !ok || err != nil {
				b.Error(ok, err)
				return
			}
			i++
		}
	})
}

func BenchmarkSave(b *testing.B) {
	keys := benchKeys(1024)
	s := filled(b, keys)
	ctx := b.Context()
	value := make([]byte, 128)
	exp := time.Now().Add(time.Hour)
	i := 0
	for b.Loop() {
		if err := s.Save(ctx, keys[i&1023], value, exp); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkSaveParallel(b *testing.B) {
	keys := benchKeys(1024)
	s := filled(b, keys)
	ctx := b.Context()
	value := make([]byte, 128)
	exp := time.Now().Add(time.Hour)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := s.Save(ctx, keys[i&1023], value, exp); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
