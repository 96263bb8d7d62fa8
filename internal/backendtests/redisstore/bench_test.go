package redisstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/internal/storebench"
	"github.com/sessionkit/sessions/store"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, newStore(b, newClient(b, testbackend.Redis(b))), 256)
}

// BenchmarkVersioned compares Save with SaveIf (each call naming the
// version the previous one returned) and GET with LoadVersion, on records
// of 256 bytes. In the parallel runs each goroutine writes a key of its
// own, so no SaveIf conflicts.
func BenchmarkVersioned(b *testing.B) {
	s := newStore(b, newClient(b, testbackend.Redis(b)))
	ctx := b.Context()
	data := make([]byte, 256)
	exp := time.Now().Add(time.Hour)
	var keys atomic.Int64
	ops := []struct {
		name string
		// op returns the operation for one goroutine, on a key of its own.
		op func(b *testing.B) func() error
	}{
		{"Save", func(b *testing.B) func() error {
			key := fmt.Sprint("save:", keys.Add(1))
			return func() error { return s.Save(ctx, key, data, exp) }
		}},
		{"SaveIf", func(b *testing.B) func() error {
			key := fmt.Sprint("saveif:", keys.Add(1))
			var v store.Version
			return func() (err error) {
				v, err = s.SaveIf(ctx, key, data, exp, v)
				return err
			}
		}},
		{"Load", func(b *testing.B) func() error {
			key := fmt.Sprint("load:", keys.Add(1))
			if err := s.Save(ctx, key, data, exp); err != nil {
				b.Fatal(err)
			}
			return func() error { _, _, err := s.Load(ctx, key); return err }
		}},
		{"LoadVersion", func(b *testing.B) func() error {
			key := fmt.Sprint("loadversion:", keys.Add(1))
			if err := s.Save(ctx, key, data, exp); err != nil {
				b.Fatal(err)
			}
			return func() error { _, err := s.LoadVersion(ctx, key, time.Time{}); return err }
		}},
	}
	for _, o := range ops {
		b.Run(o.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			op := o.op(b)
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(o.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				op := o.op(b)
				for pb.Next() {
					if err := op(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
