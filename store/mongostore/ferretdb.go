package mongostore

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// FerretDB v1 runs an update, a findAndModify and a delete as a read of
// the matching documents followed by a write by _id, not as one atomic
// step: two conditional writes racing on one version can both succeed, a
// touch can write back the data a concurrent save replaced, and the
// cleanup can delete a record saved again after it found it expired (the
// first seen on v1.24 with its SQLite backend). On FerretDB the Store
// therefore serializes the writes to each key within the process, the
// cleanup's too, through a table of locks that every Store on the
// collection shares. Writes from other processes are not covered; MongoDB
// needs none of this.

// writeLocks holds a one-slot semaphore for every key being written on
// FerretDB, under the collection's namespace and the key.
var writeLocks struct {
	mu sync.Mutex
	m  map[string]*writeLock
}

type writeLock struct {
	sem  chan struct{}
	refs int // goroutines holding or waiting for sem
}

// isFerretDB reports whether the server behind coll is FerretDB, which
// names its version in buildInfo.
func isFerretDB(ctx context.Context, coll *mongo.Collection) (bool, error) {
	var info struct {
		FerretDB string `bson:"ferretdbVersion"`
	}
	admin := coll.Database().Client().Database("admin")
	if err := admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, wrap(ctx, "buildInfo", err)
	}
	return info.FerretDB != "", nil
}

// A writeLocker serializes the writes to each key of one collection
// within the process. A nil *writeLocker does nothing: the Store holds one
// only on FerretDB.
type writeLocker struct {
	namespace string // database.collection
}

// lock waits until no other write to key runs in this process, and returns
// what to pass to unlock.
func (w *writeLocker) lock(ctx context.Context, op, key string) (*writeLock, error) {
	if w == nil {
		return nil, nil
	}
	name := w.namespace + "\x00" + key
	writeLocks.mu.Lock()
	l := writeLocks.m[name]
	if l == nil {
		if writeLocks.m == nil {
			writeLocks.m = make(map[string]*writeLock)
		}
		l = &writeLock{sem: make(chan struct{}, 1)}
		writeLocks.m[name] = l
	}
	l.refs++
	writeLocks.mu.Unlock()
	select {
	case l.sem <- struct{}{}:
		return l, nil
	case <-ctx.Done():
		release(name, l)
		return nil, wrap(ctx, op, ctx.Err())
	}
}

// unlock ends a write that lock let start.
func (w *writeLocker) unlock(key string, l *writeLock) {
	if l != nil {
		<-l.sem
		release(w.namespace+"\x00"+key, l)
	}
}

// release drops a goroutine's hold on l, and l itself once nobody holds
// or waits for it.
func release(name string, l *writeLock) {
	writeLocks.mu.Lock()
	defer writeLocks.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(writeLocks.m, name)
	}
}
