package sessions

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

type fuzzData struct {
	Name  string
	N     int
	Items []string
	Attrs map[string]any
	When  time.Time
}

// FuzzLoadHostileRecord stores arbitrary bytes as a session record and
// loads it: the manager must never panic, and must either decode the data
// or start a fresh session.
func FuzzLoadHostileRecord(f *testing.F) {
	m, err := New[fuzzData](WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	defer m.Close()
	good, _ := m.cfg.codec.Marshal(&fuzzData{Name: "x", N: 1, Items: []string{"a"}, Attrs: map[string]any{"k": 1.5}})
	f.Add(appendRecord(nil, record{deadline: time.Now().Add(time.Hour), payload: good}))
	f.Add(appendRecord(nil, record{deadline: time.Now().Add(time.Hour), payload: []byte{0xbf, 0xff}}))
	f.Add(appendRecord(nil, record{deadline: time.Now().Add(-time.Hour), payload: good}))
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{})
	token := newToken()
	key := storeKey(m.cfg.keyPrefix, token)
	f.Fuzz(func(t *testing.T, stored []byte) {
		ctx := context.Background()
		if err := m.store.Save(ctx, key, stored, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		sctx, err := m.Load(ctx, token)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		s := m.session(sctx)
		if !s.exists && s.token != "" {
			t.Fatal("an unreadable record kept its token")
		}
		_ = m.Get(sctx)
	})
}
