package fsstore

import (
	"fmt"
	"testing"
	"time"
)

// benchStore returns a store holding a 512-byte record under each of 1024
// keys shaped like the manager's.
func benchStore(b *testing.B, opts ...Option) (*Store, []string) {
	s := newStore(b, b.TempDir(), append(opts, WithCleanupInterval(0))...)
	keys := make([]string, 1024)
	value := make([]byte, 512)
	exp := time.Now().Add(time.Hour)
	for i := range keys {
		keys[i] = fmt.Sprintf("session:%043d", i)
		if err := s.Save(b.Context(), keys[i], value, exp); err != nil {
			b.Fatal(err)
		}
	}
	return s, keys
}

func BenchmarkLoad(b *testing.B) {
	s, keys := benchStore(b, WithSync(false))
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Load(ctx, keys[i&1023]); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i++
	}
}

func BenchmarkSave(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprint("sync=", sync), func(b *testing.B) {
			s, keys := benchStore(b, WithSync(sync))
			ctx := b.Context()
			value := make([]byte, 512)
			exp := time.Now().Add(time.Hour)
			i := 0
			for b.Loop() {
				if err := s.Save(ctx, keys[i&1023], value, exp); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
