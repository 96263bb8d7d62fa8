package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// mapStore is a minimal correct store, with optional bugs to show that Run
// catches them.
type mapStore struct {
	bug string // one of the bugs below, or "" for none

	mu sync.Mutex
	m  map[string]record
}

type record struct {
	data      []byte
	expiresAt time.Time
}

// The bugs a mapStore can have.
const (
	bugIgnoresExpiry  = "ignoresExpiry"  // Load returns expired records
	bugNoOverwrite    = "noOverwrite"    // Save keeps the first record
	bugNoDelete       = "noDelete"       // Delete does nothing
	bugAliasSave      = "aliasSave"      // Save keeps the caller's slice
	bugAliasLoad      = "aliasLoad"      // Load returns the stored slice
	bugIgnoresCtx     = "ignoresCtx"     // no call looks at ctx
	bugFoldsCase      = "foldsCase"      // keys are case-insensitive
	bugEmptyIsMissing = "emptyIsMissing" // an empty record is not found
	bugTouchRevives   = "touchRevives"   // Touch revives expired records
)

func newMapStore(bug string) *mapStore {
	return &mapStore{bug: bug, m: make(map[string]record)}
}

func (s *mapStore) begin(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil && s.bug != bugIgnoresCtx {
		return "", fmt.Errorf("mapstore: %w", err)
	}
	if s.bug == bugFoldsCase {
		key = strings.ToLower(key)
	}
	s.mu.Lock()
	return key, nil
}

func (s *mapStore) live(key string) (record, bool) {
	r, ok := s.m[key]
	if !ok || (!time.Now().Before(r.expiresAt) && s.bug != bugIgnoresExpiry) {
		return record{}, false
	}
	if len(r.data) == 0 && s.bug == bugEmptyIsMissing {
		return record{}, false
	}
	return r, true
}

func (s *mapStore) out(data []byte) []byte {
	if s.bug == bugAliasLoad {
		return data
	}
	return append([]byte(nil), data...)
}

func (s *mapStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	key, err := s.begin(ctx, key)
	if err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	r, ok := s.live(key)
	return s.out(r.data), ok, nil
}

func (s *mapStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok && s.bug == bugNoOverwrite {
		return nil
	}
	if s.bug != bugAliasSave {
		data = append([]byte(nil), data...)
	}
	s.m[key] = record{data, expiresAt}
	return nil
}

func (s *mapStore) Delete(ctx context.Context, key string) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.bug != bugNoDelete {
		delete(s.m, key)
	}
	return nil
}

func (s *mapStore) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.live(key)
	if s.bug == bugTouchRevives {
		r, ok = s.m[key]
	}
	if ok {
		s.m[key] = record{r.data, expiresAt}
	}
	return nil
}

func (s *mapStore) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	key, err := s.begin(ctx, key)
	if err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	r, ok := s.live(key)
	if ok {
		s.m[key] = record{r.data, expiresAt}
	}
	return s.out(r.data), ok, nil
}

func (s *mapStore) DeleteExpired(ctx context.Context) (int, error) {
	_, err := s.begin(ctx, "")
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for k, r := range s.m {
		if !time.Now().Before(r.expiresAt) {
			delete(s.m, k)
			n++
		}
	}
	return n, nil
}
