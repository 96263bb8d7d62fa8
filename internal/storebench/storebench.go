// Package storebench benchmarks any store.Store the same way, so the
// stores' numbers compare: one operation per iteration on records of a
// session's size under keys shaped like the manager's, serially and from
// parallel goroutines, for Load, Save and the optional capabilities the
// store has.
package storebench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// keys is how many records the benchmarks spread their operations over.
const keys = 1024

// operation is one store call on key.
type operation struct {
	name string
	op   func(ctx context.Context, key string) error
}

// Run benchmarks s with records of size bytes. s should be empty and is
// left holding the records.
func Run(b *testing.B, s store.Store, size int) {
	ctx := b.Context()
	names := make([]string, keys)
	value := make([]byte, size)
	exp := time.Now().Add(time.Hour)
	for i := range names {
		names[i] = fmt.Sprintf("session:%043d", i)
		if err := s.Save(ctx, names[i], value, exp); err != nil {
			b.Fatal(err)
		}
	}
	ops := []operation{
		{"Load", func(ctx context.Context, key string) error {
			_, found, err := s.Load(ctx, key)
			if err == nil && !found {
				err = fmt.Errorf("Load(%q): record not found", key)
			}
			return err
		}},
		{"Save", func(ctx context.Context, key string) error { return s.Save(ctx, key, value, exp) }},
	}
	if t, ok := s.(store.Toucher); ok {
		ops = append(ops, operation{"Touch", func(ctx context.Context, key string) error { return t.Touch(ctx, key, exp) }})
	}
	if lt, ok := s.(store.LoadToucher); ok {
		ops = append(ops, operation{"LoadAndTouch", func(ctx context.Context, key string) error {
			_, _, err := lt.LoadAndTouch(ctx, key, exp)
			return err
		}})
	}
	for _, o := range ops {
		b.Run(o.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := o.op(ctx, names[i%keys]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(o.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := o.op(ctx, names[i%keys]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
