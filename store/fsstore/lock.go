package fsstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Every change to a record file (the rename that writes it, its removal)
// happens under the write lock of its shard, so that a conditional write
// can read the version and replace the file with nothing in between. The
// lock is held for a read and a rename: temporary files are written and
// synced before it is taken.
//
// In the process, a semaphore per shard makes goroutines queue; across
// processes sharing the directory, an advisory lock on the shard's .lock
// file (flock, LockFileEx on Windows) does. The lock file is never removed
// or replaced, unlike the record files, which a lock could not follow. On
// a file system that refuses locks (New logs a warning), only the
// semaphore remains.

// Waiting for a lock another process holds: polls that start short and
// grow, so that ctx is honoured.
const (
	firstLockPoll = 20 * time.Microsecond
	maxLockPoll   = 5 * time.Millisecond
)

// lockShard takes the write lock of shard, waiting until ctx is done, and
// returns the function that releases it.
func (d *disk) lockShard(ctx context.Context, shard int) (unlock func(), err error) {
	sem := d.sems[shard]
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !d.fileLocks {
		return func() { <-sem }, nil
	}
	f, err := d.openLock(shard)
	if err == nil {
		if err = waitLock(ctx, f); err != nil {
			f.release()
		}
	}
	if err != nil {
		<-sem
		return nil, err
	}
	return func() {
		f.release()
		<-sem
	}, nil
}

// openLock opens the lock file of shard, creating it and the shard
// directory if needed.
func (d *disk) openLock(shard int) (lockFile, error) {
	f, err := openLockFile(d.lockPaths[shard])
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(d.shardDirs[shard], 0o700); err != nil {
			return lockFile{}, err
		}
		f, err = openLockFile(d.lockPaths[shard])
	}
	return f, err
}

// waitLock takes the advisory lock of f, polling while another process
// holds it, until ctx is done.
func waitLock(ctx context.Context, f lockFile) error {
	var timer *time.Timer
	for poll := firstLockPoll; ; poll = min(2*poll, maxLockPoll) {
		ok, err := f.tryLock()
		if ok || err != nil {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(poll)
			defer timer.Stop()
		} else {
			timer.Reset(poll)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
