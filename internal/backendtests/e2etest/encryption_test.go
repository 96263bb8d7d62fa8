package e2etest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/mongostore"
)

// encBackend is a store to test encryption at rest on, and, where the
// test can, a function that returns the bytes the backend itself holds
// under a key (below the store's own framing).
type encBackend struct {
	name string
	open func(t *testing.T) (st store.Store, raw func(key string) []byte)
}

func encBackends() []encBackend {
	return []encBackend{
		{"memory", func(t *testing.T) (store.Store, func(string) []byte) {
			s, err := memstore.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, nil
		}},
		{"filesystem", func(t *testing.T) (store.Store, func(string) []byte) {
			dir := t.TempDir()
			s, err := fsstore.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			// Every file in the directory, whatever its key.
			return s, func(string) []byte {
				var all []byte
				filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						b, _ := os.ReadFile(path)
						all = append(all, b...)
					}
					return nil
				})
				return all
			}
		}},
		{"redis", func(t *testing.T) (store.Store, func(string) []byte) {
			c := redisClient(t, testbackend.Redis(t))
			return redisStore(t, c), redisRaw(c)
		}},
		{"redis-cluster", func(t *testing.T) (store.Store, func(string) []byte) {
			c := redisClient(t, testbackend.RedisCluster(t)...)
			return redisStore(t, c), redisRaw(c)
		}},
		{"memcached", func(t *testing.T) (store.Store, func(string) []byte) {
			c := pooledMemcache(memcache.New(testbackend.Memcached(t)))
			t.Cleanup(func() { c.Close() })
			s, err := memcachedstore.New(c)
			if err != nil {
				t.Fatal(err)
			}
			return s, func(key string) []byte {
				it, err := c.Get(key)
				if err != nil {
					t.Fatalf("memcached get %q: %v", key, err)
				}
				return it.Value
			}
		}},
		{"mongodb", func(t *testing.T) (store.Store, func(string) []byte) {
			return mongoStore(t, mongoCollection(t, "enc"), mongostore.WithCleanupInterval(0)), nil
		}},
		{"postgres", func(t *testing.T) (store.Store, func(string) []byte) {
			sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t))))
			return sqlStore(t, bunDB(t, sqldb, pgdialect.New())), nil
		}},
		{"mariadb", func(t *testing.T) (store.Store, func(string) []byte) {
			return sqlStore(t, bunDB(t, openMySQL(t, testbackend.MariaDB(t)), mysqldialect.New())), nil
		}},
		{"sqlite", func(t *testing.T) (store.Store, func(string) []byte) {
			return sqlStore(t, bunDB(t, sqliteDB(t), sqlitedialect.New())), nil
		}},
	}
}

// redisRaw returns the string Redis holds under key.
func redisRaw(c rueidis.Client) func(string) []byte {
	return func(key string) []byte {
		b, err := c.Do(context.Background(), c.B().Get().Key(key).Build()).AsBytes()
		if err != nil {
			panic(fmt.Sprintf("redis GET %q: %v", key, err))
		}
		return b
	}
}

func newKey() []byte {
	k := make([]byte, sessions.EncryptionKeySize)
	rand.Read(k)
	return k
}

type secretData struct {
	Email string
	Note  string
}

// TestEncryptionAtRest writes sessions with a marker value and an owner
// on every backend, then reads what the backend holds: neither the marker
// nor the owner appears, every record is sealed. Then it rotates the key:
// Rekey reseals every record where the store can list keys (memcached
// cannot: Rekey says so), and the sessions read back, and list, under the
// new key alone.
func TestEncryptionAtRest(t *testing.T) {
	for _, b := range encBackends() {
		t.Run(b.name, func(t *testing.T) {
			st, raw := b.open(t)
			prefix := "enc" + suffix() + ":"
			const marker = "marker-c0ffee-9e1d"
			owner := "owner-" + suffix() + "@example.com"
			k1, k2 := newKey(), newKey()
			mgr := func(keys ...[]byte) *sessions.Manager[secretData] {
				m, err := sessions.New[secretData](sessions.WithStore(st), sessions.WithKeyPrefix(prefix), sessions.WithEncryption(keys[0], keys[1:]...))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
			m := mgr(k1)
			const n = 12
			var tokens, keys []string
			for i := range n {
				ctx, err := m.Load(t.Context(), "")
				if err != nil {
					t.Fatal(err)
				}
				if err := m.SetOwner(ctx, owner); err != nil {
					t.Fatal(err)
				}
				*m.Get(ctx) = secretData{Email: owner, Note: fmt.Sprint(marker, i)}
				token, _, err := m.Commit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, token)
				id, err := m.ID(ctx)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, prefix+id)
			}
			if _, own := st.(store.OwnerIndex); !own {
				// The owner's index is a record too; a store with its
				// own index keeps it unsealed (docs/security.md).
				sum := sha256.Sum256([]byte(owner))
				keys = append(keys, prefix+"owner:"+base64.RawURLEncoding.EncodeToString(sum[:]))
			}

			for _, key := range keys {
				data, found, err := st.Load(t.Context(), key)
				if err != nil || !found {
					t.Fatalf("Load(%q) = found %v, %v", key, found, err)
				}
				if bytes.Contains(data, []byte(marker)) || bytes.Contains(data, []byte(owner)) {
					t.Fatalf("the record under %q holds the marker or the owner in the clear: %q", key, data)
				}
				if data[0] != 0x81 {
					t.Fatalf("the record under %q is not sealed: % x", key, data[:8])
				}
				if raw != nil {
					if b := raw(key); bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte(owner)) {
						t.Fatalf("the backend holds the marker or the owner in the clear under %q", key)
					}
				}
			}

			rotated := mgr(k2, k1)
			got, err := rotated.Rekey(t.Context())
			if _, lists := st.(store.Scanner); !lists {
				if !errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("Rekey on a store that cannot list keys = %d, %v; want errors.ErrUnsupported", got, err)
				}
				return
			}
			if err != nil || got != len(keys) {
				t.Fatalf("Rekey = %d, %v; want %d", got, err, len(keys))
			}
			if again, err := rotated.Rekey(t.Context()); again != 0 || err != nil {
				t.Fatalf("second Rekey = %d, %v; want 0", again, err)
			}
			only := mgr(k2)
			for i, token := range tokens {
				ctx, err := only.Load(t.Context(), token)
				if err != nil {
					t.Fatal(err)
				}
				if d := only.Get(ctx); d.Note != fmt.Sprint(marker, i) || d.Email != owner {
					t.Fatalf("session %d under the new key alone: %+v", i, d)
				}
			}
			list, err := only.Sessions(t.Context(), owner)
			if err != nil || len(list) != n {
				t.Fatalf("Sessions under the new key alone: %d, %v; want %d", len(list), err, n)
			}
		})
	}
}
