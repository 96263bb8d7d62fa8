package fsstore

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprint("sync=", sync), func(b *testing.B) {
			storebench.Run(b, newStore(b, b.TempDir(), WithSync(sync), WithCleanupInterval(0)), 512)
		})
	}
}

// BenchmarkVersioned measures the conditional write, each iteration
// replacing the version the previous one wrote, and the versioned load.
func BenchmarkVersioned(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprint("sync=", sync), func(b *testing.B) {
			s := newStore(b, b.TempDir(), WithSync(sync), WithCleanupInterval(0))
			ctx, value, exp := b.Context(), make([]byte, 512), time.Now().Add(time.Hour)
			key := managerKey(0)
			v := saveIf(b, s, key, "", exp, 0)
			b.Run("SaveIf", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if v, err = s.SaveIf(ctx, key, value, exp, v); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("LoadVersion", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if l, err := s.LoadVersion(ctx, key, time.Time{}); err != nil || l.Version != v {
						b.Fatal(l, err)
					}
				}
			})
		})
	}
}

// BenchmarkLoadFiles loads records of 512 bytes, in random order, from a
// directory that holds 100 and then 100,000 of them (issue 13): "all"
// spreads the loads over every record, "hot=100" over 100 of the 100,000,
// which separates what the size of the directory costs a Load from what a
// working set of 100,000 files costs the kernel's caches. cpu-ns/op is the
// processor time of the process per Load, which a busy machine disturbs
// less than the elapsed time.
func BenchmarkLoadFiles(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprint("files=", n), func(b *testing.B) {
			s := newStore(b, b.TempDir(), WithSync(false), WithCleanupInterval(0))
			keys := make([]string, n)
			exp := time.Now().Add(time.Hour)
			for i := range keys {
				keys[i] = managerKey(i)
				writeRecord(b, s, keys[i], make([]byte, 512), exp)
			}
			rand.Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			b.Run("all", func(b *testing.B) { benchLoads(b, s, keys) })
			if n > 100 {
				b.Run("hot=100", func(b *testing.B) { benchLoads(b, s, keys[:100]) })
			}
		})
	}
}

func benchLoads(b *testing.B, s *Store, keys []string) {
	ctx := b.Context()
	// Warm the caches as a running server has them.
	for _, k := range keys {
		if _, found, err := s.Load(ctx, k); err != nil || !found {
			b.Fatalf("Load = (found %v, %v)", found, err)
		}
	}
	b.ReportAllocs()
	reportCPU := storebench.MeasureCPU(b)
	i := 0
	for b.Loop() {
		if _, found, err := s.Load(ctx, keys[i%len(keys)]); err != nil || !found {
			b.Fatalf("Load = (found %v, %v)", found, err)
		}
		i++
	}
	reportCPU()
}

// writeRecord writes the file of a record directly, much faster than Save
// when filling a directory.
func writeRecord(b *testing.B, s *Store, key string, data []byte, exp time.Time) {
	loc := s.d.locate(key)
	if err := os.MkdirAll(loc.dir, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(loc.file, encode(record{exp: exp.UnixNano(), ver: newVersion(), data: data}), 0o600); err != nil {
		b.Fatal(err)
	}
}

// managerKey returns the i-th key shaped like the manager's: a prefix and
// the unpadded base64url SHA-256 of a token.
func managerKey(i int) string {
	sum := sha256.Sum256(fmt.Append(nil, i))
	return "session:" + base64.RawURLEncoding.EncodeToString(sum[:])
}
