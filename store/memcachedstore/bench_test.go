package memcachedstore

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// benchValue is the size of a typical encoded session.
var benchValue = bytes.Repeat([]byte("s"), 256)

// benchStore returns a store holding benchValue under "k".
func benchStore(b *testing.B) *Store {
	s := newStore(b)
	if err := s.Save(b.Context(), "k", benchValue, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	return s
}

// bench runs op serially and from parallel goroutines.
func bench(b *testing.B, op func(ctx context.Context, s *Store) error) {
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		for b.Loop() {
			if err := op(b.Context(), s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(context.Background(), s); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkLoad(b *testing.B) {
	bench(b, func(ctx context.Context, s *Store) error {
		_, _, err := s.Load(ctx, "k")
		return err
	})
}

func BenchmarkSave(b *testing.B) {
	bench(b, func(ctx context.Context, s *Store) error {
		return s.Save(ctx, "k", benchValue, time.Now().Add(time.Hour))
	})
}

func BenchmarkTouch(b *testing.B) {
	bench(b, func(ctx context.Context, s *Store) error {
		_, _, err := s.loadAndTouch(ctx, "k", time.Now().Add(time.Hour))
		return err
	})
}
