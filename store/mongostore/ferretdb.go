package mongostore

import (
	"context"
	"hash/maphash"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// FerretDB v1 runs an update, a findAndModify and a delete as a read of
// the matching documents followed by a write by _id, not as one atomic
// step: two conditional writes racing on one version can both succeed, and
// a touch can write back the data a concurrent save replaced (seen on
// v1.24 with its SQLite backend). On FerretDB the Store therefore
// serializes the writes to each key within the process, through a table
// of locks shared by every Store on the collection. Writes from other
// processes are not covered; MongoDB needs none of this.

// writeLocks holds one-slot semaphores, picked by a hash of the collection
// and the key.
var writeLocks = func() (l struct {
	seed maphash.Seed
	sems [256]chan struct{}
}) {
	l.seed = maphash.MakeSeed()
	for i := range l.sems {
		l.sems[i] = make(chan struct{}, 1)
	}
	return l
}()

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

// lock waits until no other write to key runs in this process, when the
// store serializes writes, and returns the semaphore to pass to unlock.
func (s *Store) lock(ctx context.Context, op, key string) (chan struct{}, error) {
	if !s.serialize {
		return nil, nil
	}
	var h maphash.Hash
	h.SetSeed(writeLocks.seed)
	h.WriteString(s.namespace)
	h.WriteByte(0)
	h.WriteString(key)
	sem := writeLocks.sems[h.Sum64()%uint64(len(writeLocks.sems))]
	select {
	case sem <- struct{}{}:
		return sem, nil
	case <-ctx.Done():
		return nil, wrap(ctx, op, ctx.Err())
	}
}

// unlock releases a semaphore that lock returned.
func unlock(sem chan struct{}) {
	if sem != nil {
		<-sem
	}
}
