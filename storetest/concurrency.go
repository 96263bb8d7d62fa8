package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// concurrencyChecks: many goroutines use one store at once.
var concurrencyChecks = []check{
	{"ManyGoroutines", testManyGoroutines},
}

// testManyGoroutines runs workers that save, load and delete a key of
// their own, whose value they always know, and keys shared by all, whose
// value must always be one some worker saved whole.
func testManyGoroutines(t *testing.T, s store.Store) {
	const (
		workers    = 16
		ops        = 50
		sharedKeys = 4
		sharedSize = 512
	)
	ctx := t.Context()
	exp := time.Now().Add(longTTL)
	shared := make([]string, sharedKeys)
	for i := range shared {
		shared[i] = newKey("shared:")
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := newKey(fmt.Sprintf("own%d:", w))
			var want []byte // nil when own holds no record
			for i := range ops {
				var err error
				// Every change of own is checked by the next op.
				switch i % 5 {
				case 0, 4:
					v := fmt.Appendf(nil, "worker %d op %d", w, i)
					if err = s.Save(ctx, own, v, exp); err == nil {
						want = v
					}
				case 1, 3:
					err = checkOwn(ctx, s, own, want)
				case 2:
					if i%10 == 2 {
						if err = s.Delete(ctx, own); err == nil {
							want = nil
						}
						break
					}
					err = checkShared(ctx, s, shared[(w+i)%sharedKeys], sharedSize)
					if err == nil {
						v := bytes.Repeat([]byte{byte(w*ops + i)}, sharedSize)
						err = s.Save(ctx, shared[(w+i)%sharedKeys], v, exp)
					}
				}
				if err != nil {
					t.Errorf("worker %d, op %d: %v", w, i, err)
					return
				}
			}
			if err := checkOwn(ctx, s, own, want); err != nil {
				t.Errorf("worker %d, at the end: %v", w, err)
			}
		})
	}
	wg.Wait()
}

// checkOwn checks that key holds want, or no record when want is nil.
func checkOwn(ctx context.Context, s store.Store, key string, want []byte) error {
	got, found, err := s.Load(ctx, key)
	switch {
	case err != nil:
		return fmt.Errorf("Load(%q): %w", key, err)
	case found != (want != nil):
		return fmt.Errorf("under concurrent use, Load(%q) found = %v, want %v", key, found, want != nil)
	case found && !bytes.Equal(got, want):
		return fmt.Errorf("under concurrent use, Load(%q) = %s", key, mismatch(got, want))
	}
	return nil
}

// checkShared checks that key holds no record or size copies of one byte.
func checkShared(ctx context.Context, s store.Store, key string, size int) error {
	got, found, err := s.Load(ctx, key)
	switch {
	case err != nil:
		return fmt.Errorf("Load(%q): %w", key, err)
	case found && (len(got) != size || bytes.Count(got, got[:1]) != size):
		return fmt.Errorf("under concurrent use, Load(%q) returned a torn record: %s", key, show(got))
	}
	return nil
}
