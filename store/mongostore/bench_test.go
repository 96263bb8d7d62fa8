package mongostore

import (
	"testing"
	"time"
)

// BenchmarkStore measures one operation on a 1 KiB record.
func BenchmarkStore(b *testing.B) {
	s := newStore(b, connect(b), WithCleanupInterval(0))
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
	run("LoadAndTouch", func() error { _, _, err := s.LoadAndTouch(ctx, "bench", exp); return err })
}
