package sqlstore

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// BenchmarkStore measures one operation on a 1 KiB record, per backend.
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, _ := newStore(b, be.open(b), WithCleanupInterval(0))
			benchmarkStore(b, s)
		})
	}
}

func benchmarkStore(b *testing.B, s Store) {
	ctx := b.Context()
	data := make([]byte, 1024)
	exp := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "bench", data, exp); err != nil {
		b.Fatal(err)
	}
	run := func(name string, op func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("Save", func() error { return s.Save(ctx, "bench", data, exp) })
	run("Load", func() error { _, _, err := s.Load(ctx, "bench"); return err })
	run("Touch", func() error { return s.Touch(ctx, "bench", exp) })
	if lt, ok := s.(store.LoadToucher); ok {
		run("LoadAndTouch", func() error { _, _, err := lt.LoadAndTouch(ctx, "bench", exp); return err })
	}
}
