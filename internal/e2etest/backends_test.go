package e2etest_test

import (
	"crypto/rand"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/e2etest"
	"github.com/sessionkit/sessions/internal/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/redisstore"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

func TestMemory(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestFilesystem(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		s, err := fsstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func redisClient(t *testing.T, addrs ...string) rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRedis(t *testing.T) {
	c := redisClient(t, testbackend.Redis(t))
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisstore.New(c, redisstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}

func TestRedisCluster(t *testing.T) {
	c := redisClient(t, testbackend.RedisCluster(t)...)
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisstore.New(c, redisstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}

func TestMemcached(t *testing.T) {
	c := memcache.New(testbackend.Memcached(t))
	t.Cleanup(func() { c.Close() })
	e2etest.Run(t, func(t *testing.T) store.Store {
		return memcachedstore.New(c, memcachedstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}
