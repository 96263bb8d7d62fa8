package bench

import (
	"net/http"
	"runtime"
	"testing"
)

// BenchmarkSessions runs every scenario on every store through every
// library that has the store:
//
//	BenchmarkSessions/<store>/<scenario>/<lib>
//
// store:    memory, filesystem, redis, cookie
// scenario: new, readonly, modify, idle-readonly, and each of them with
//
//	-parallel (parallelClients goroutines, one session each)
//
// lib:      sessions (this library), sessions-nosync (filesystem without
//
//	fsync), scs, gorilla
//
// so that benchstat can compare the libs of one store and scenario:
//
//	benchstat -col /lib -row /store,/scenario results.txt
//
// (the name parts are not key=value, so cmd/benchtable does that job.)
func BenchmarkSessions(b *testing.B) {
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			for _, sc := range scenarios {
				var libs []lib
				for _, l := range st.libs {
					if l.idle || !sc.idle { // gorilla/sessions has no idle timeout
						libs = append(libs, l)
					}
				}
				if len(libs) == 0 {
					continue
				}
				b.Run(sc.name, func(b *testing.B) {
					for _, l := range libs {
						b.Run(l.name, func(b *testing.B) {
							run(b, l.open(b, sc.idle), sc)
						})
					}
				})
			}
		})
	}
}

// BenchmarkBaseline is the harness alone: the same client, request reset
// and writer, and a handler that only writes the body, without sessions.
func BenchmarkBaseline(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	b.Run("serial", func(b *testing.B) {
		c := newClient(nil)
		b.ReportAllocs()
		for b.Loop() {
			c.do(h)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((parallelClients + procs - 1) / procs)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := newClient(nil)
			for pb.Next() {
				c.do(h)
			}
		})
	})
}
