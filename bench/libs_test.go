package bench

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"
	gsessions "github.com/gorilla/sessions"
	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/redisstore"
)

// A lib is one library on one store. open sets it up for one benchmark
// (idle: with idleTimeout); the stores are closed by b.Cleanup.
type lib struct {
	name string
	idle bool // the library has an idle timeout: run the idle-readonly scenarios
	open func(b *testing.B, idle bool) *target
}

// stores lists, per store, the libraries compared on it. gorilla/sessions
// has no idle timeout, so it has no idle-readonly benchmarks.
var stores = []struct {
	name string
	libs []lib
}{
	{"memory", []lib{
		{"sessions", true, sessionsOn(func(b *testing.B) sessions.Option { return sessions.WithMemory() })},
		{"scs", true, scsMemory},
	}},
	{"filesystem", []lib{
		// The default: each write is fsynced before it replaces the file.
		{"sessions", true, sessionsOn(sessionsFiles())},
		// Without fsync, as gorilla's FilesystemStore (os.WriteFile) writes.
		{"sessions-nosync", true, sessionsOn(sessionsFiles(fsstore.WithSync(false)))},
		{"gorilla", false, func(b *testing.B, _ bool) *target {
			return gorilla(gsessions.NewFilesystemStore(b.TempDir(), gorillaKey), false)
		}},
	}},
	{"redis", []lib{
		{"sessions", true, sessionsRedis(false)},
		// Reads served by rueidis' server-assisted client-side cache.
		{"sessions-cached", true, sessionsRedis(true)},
		{"scs", true, scsRedis},
	}},
	{"cookie", []lib{
		{"gorilla", false, func(b *testing.B, _ bool) *target {
			return gorilla(gsessions.NewCookieStore(gorillaKey), true)
		}},
	}},
}

// --- github.com/sessionkit/sessions ---

func sessionsOn(storeOpt func(b *testing.B) sessions.Option) func(b *testing.B, idle bool) *target {
	return func(b *testing.B, idle bool) *target {
		return sessionsTarget(b, idle, storeOpt(b))
	}
}

// sessionsFiles returns the option of a filesystem store with opts in a
// directory of the benchmark's own.
func sessionsFiles(opts ...fsstore.Option) func(b *testing.B) sessions.Option {
	return func(b *testing.B) sessions.Option {
		st, err := fsstore.New(b.TempDir(), opts...)
		if err != nil {
			b.Fatal(err)
		}
		return sessions.WithManagedStore(st)
	}
}

func sessionsRedis(cached bool) func(b *testing.B, idle bool) *target {
	return func(b *testing.B, idle bool) *target {
		addr := testbackend.Redis(b)
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
		if err != nil {
			b.Fatal(err)
		}
		lib := "sessions"
		if cached {
			lib = "sessions-cached"
		}
		prefix := redisPrefix(b, addr, lib)
		b.Cleanup(client.Close) // runs after the manager's Close (LIFO)
		var st store.Store
		if cached {
			// A short TTL so that the setup writes stop bypassing the cache
			// early in the timed loop; entries are refetched every 100ms.
			st, err = redisstore.New(client, redisstore.WithClientCache(100*time.Millisecond))
		} else {
			st, err = redisstore.New(client)
		}
		if err != nil {
			b.Fatal(err)
		}
		return sessionsTarget(b, idle, sessions.WithManagedStore(st), sessions.WithKeyPrefix(prefix))
	}
}

func sessionsTarget(b *testing.B, idle bool, opts ...sessions.Option) *target {
	if idle {
		opts = append(opts, sessions.WithIdleTimeout(idleTimeout))
	}
	m, err := sessions.New[userData](opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return &target{
		handler: func(k kind) http.Handler {
			return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch k {
				case kindNew:
					*m.Get(r.Context()) = seed
				case kindReadonly:
					if m.Get(r.Context()).UserID != seed.UserID {
						w.WriteHeader(http.StatusInternalServerError)
					}
				case kindModify:
					m.Get(r.Context()).Visits++
				}
				w.Write(body)
			}))
		},
		dump: func(out *userData) http.Handler {
			return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				*out = *m.Get(r.Context())
			}))
		},
	}
}

// --- github.com/alexedwards/scs/v2 ---

func scsMemory(b *testing.B, idle bool) *target {
	st := scsmem.New() // what scs.New() installs by default
	b.Cleanup(st.StopCleanup)
	return scsTarget(idle, st)
}

func scsRedis(b *testing.B, idle bool) *target {
	addr := testbackend.Redis(b)
	// The pool keeps as many idle connections as there are concurrent
	// clients, so the parallel benchmarks do not dial per request (the
	// scs README's MaxIdle: 10 would). rueidis, on the sessions side,
	// pipelines every goroutine's commands over one connection by default.
	pool := &redis.Pool{
		MaxIdle:     parallelClients,
		IdleTimeout: 4 * time.Minute,
		Dial:        func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}
	b.Cleanup(func() { pool.Close() })
	return scsTarget(idle, scsredis.NewWithPrefix(pool, redisPrefix(b, addr, "scs")))
}

func scsTarget(idle bool, st scs.Store) *target {
	sm := scs.New()
	sm.Store = st
	if idle {
		sm.IdleTimeout = idleTimeout
	}
	return &target{
		handler: func(k kind) http.Handler {
			return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := r.Context()
				switch k {
				case kindNew:
					sm.Put(ctx, keyUserID, seed.UserID)
					sm.Put(ctx, keyName, seed.Name)
					sm.Put(ctx, keyCart, seed.Cart)
					sm.Put(ctx, keyVisits, seed.Visits)
				case kindReadonly:
					if sm.GetInt(ctx, keyUserID) != seed.UserID {
						w.WriteHeader(http.StatusInternalServerError)
					}
				case kindModify:
					sm.Put(ctx, keyVisits, sm.GetInt(ctx, keyVisits)+1)
				}
				w.Write(body)
			}))
		},
		dump: func(out *userData) http.Handler {
			return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := r.Context()
				cart, _ := sm.Get(ctx, keyCart).([]string)
				*out = userData{
					UserID: sm.GetInt(ctx, keyUserID),
					Name:   sm.GetString(ctx, keyName),
					Cart:   cart,
					Visits: sm.GetInt(ctx, keyVisits),
				}
			}))
		},
	}
}

// --- github.com/gorilla/sessions ---

// gorillaKey is the authentication key of gorilla's stores: one key, no
// encryption key, as in gorilla's README (NewCookieStore(key)).
var gorillaKey = []byte("0123456789abcdef0123456789abcdef")

// gorilla has no middleware: the handler calls store.Get and, after a
// change, session.Save, as gorilla's README does. A read-only request does
// not Save.
func gorilla(st gsessions.Store, clientSide bool) *target {
	return &target{
		clientSide: clientSide,
		handler: func(k kind) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := st.Get(r, cookieName)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				switch k {
				case kindNew:
					s.Values[keyUserID] = seed.UserID
					s.Values[keyName] = seed.Name
					s.Values[keyCart] = seed.Cart
					s.Values[keyVisits] = seed.Visits
				case kindReadonly:
					if id, _ := s.Values[keyUserID].(int); id != seed.UserID {
						w.WriteHeader(http.StatusInternalServerError)
					}
				case kindModify:
					v, _ := s.Values[keyVisits].(int)
					s.Values[keyVisits] = v + 1
				}
				if k != kindReadonly {
					if err := s.Save(r, w); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				w.Write(body)
			})
		},
		dump: func(out *userData) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := st.Get(r, cookieName)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				id, _ := s.Values[keyUserID].(int)
				name, _ := s.Values[keyName].(string)
				cart, _ := s.Values[keyCart].([]string)
				visits, _ := s.Values[keyVisits].(int)
				*out = userData{UserID: id, Name: name, Cart: cart, Visits: visits}
			})
		},
	}
}

// --- Redis keys ---

// redisPrefix returns a key prefix unique to this benchmark run and lib,
// and deletes the keys under it when the benchmark ends, so that a run
// leaves nothing behind in a Redis server it did not start.
func redisPrefix(b *testing.B, addr, lib string) string {
	var r [8]byte
	rand.Read(r[:])
	prefix := "sessionsbench:" + hex.EncodeToString(r[:]) + ":" + lib + ":"
	b.Cleanup(func() {
		if err := deleteKeys(addr, prefix); err != nil {
			b.Errorf("deleting the benchmark's Redis keys: %v", err)
		}
	})
	return prefix
}

func deleteKeys(addr, prefix string) error {
	conn, err := redis.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	cursor := "0"
	for {
		v, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			return err
		}
		var keys []string
		if _, err := redis.Scan(v, &cursor, &keys); err != nil {
			return err
		}
		if len(keys) > 0 {
			if _, err := conn.Do("UNLINK", redis.Args{}.AddFlat(keys)...); err != nil {
				return err
			}
		}
		if cursor == "0" {
			return nil
		}
	}
}
