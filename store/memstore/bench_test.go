package memstore

import (
	"testing"
	"time"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, newStore(b), 128)
}

// BenchmarkVersioned measures the conditional write, each iteration
// replacing the version the previous one wrote, and the versioned load
// with and without a touch.
func BenchmarkVersioned(b *testing.B) {
	s := newStore(b)
	ctx, value, exp := b.Context(), make([]byte, 128), time.Now().Add(time.Hour)
	const key = "session:0000000000000000000000000000000000000000000"
	b.Run("SaveIf", func(b *testing.B) {
		b.ReportAllocs()
		l, err := s.LoadVersion(ctx, key, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		v := l.Version
		for b.Loop() {
			if v, err = s.SaveIf(ctx, key, value, exp, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, touch := range map[string]time.Time{"LoadVersion": {}, "LoadVersionTouch": exp} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if l, err := s.LoadVersion(ctx, key, touch); err != nil || !l.Found() {
					b.Fatal(l, err)
				}
			}
		})
	}
}
