package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// ErrNotReplicated is wrapped by the error of a write that fewer replicas
// acknowledged than WithReplicas asks for, within its timeout, or whose
// acknowledgement was lost with the connection.
//
// The write itself may well have happened: it is on the master, perhaps on
// some replicas, and it survives a failover or not. A SaveIf that fails
// this way may have changed the record's version, so a later SaveIf with
// the old version can conflict; reload before trying again. The sessions
// manager answers such a request through its error handler (500 by
// default), like any failed save.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// WithReplicas makes Save, SaveIf and Delete return only once n replicas
// of the master have the write, so that an acknowledged save survives the
// loss of the master: WAIT n timeout follows every write on the same
// connection, in the same round trip (one pipelined batch). When fewer
// than n replicas acknowledge it within timeout, the call returns an error
// wrapping ErrNotReplicated.
//
// The write survives a failover when the replica promoted in the master's
// place is one of those that acknowledged it. Sentinel and Cluster promote
// the replica that has received the most of the master's stream, which
// has every write any replica acknowledged; n equal to the number of
// replicas per master makes it hold whichever replica is promoted. Keep
// more than n replicas per master (in a Cluster, spare replicas migrate to
// a master that lost its last one): a master with fewer than n
// reachable replicas, such as a replica just promoted after its master
// died, answers every write with ErrNotReplicated, which is the price of
// not losing acknowledged saves.
//
// WAIT does not make Redis strongly consistent: an acknowledged write is
// in the replicas' memory, not on their disks, and is lost if the master
// and those replicas all fail. Touch and the expiry move of LoadVersion
// and LoadAndTouch do not wait: a lost expiry move only brings the
// previous expiry back.
//
// Each write waits for up to timeout (rounded up to a whole millisecond)
// on a connection of its own from the client's pool for blocking
// commands (ClientOption.BlockingPoolSize, 1024 by default), so keep
// timeout below the sessions manager's store timeout. The pool keeps its
// idle connections (unless BlockingPoolCleanup is set), but a burst of
// more concurrent writes than it holds opens new connections first, with
// their handshake: in our tests under load, 40 writes at once on a cold
// client took 0.4-0.9 s each, then a few milliseconds. On a Cluster client
// the batch goes to the key's master over a dedicated connection (a
// Cluster client follows a MOVED or ASK reply for a single command of a
// batch, which would leave WAIT behind on the old node), and a MOVED or
// ASK reply is followed once, with the whole batch. n = 0 (the default)
// waits for no replica; a negative n, or a timeout that is not positive
// with n > 0, makes New fail.
func WithReplicas(n int, timeout time.Duration) Option {
	return func(c *config) error {
		switch {
		case n < 0:
			return fmt.Errorf("WithReplicas: %d replicas is negative", n)
		case n > 0 && timeout <= 0:
			return fmt.Errorf("WithReplicas: the timeout %v is not positive", timeout)
		}
		c.replicas, c.replicaTimeout = n, timeout
		return nil
	}
}

// write runs cmd, a write, and returns its result. With WithReplicas it
// also waits for the replicas, and returns an error that is not nil when
// they did not acknowledge the write (check the result first: on a failed
// write the error says nothing).
func (s *Store) write(ctx context.Context, cmd rueidis.Completed) (rueidis.RedisResult, error) {
	if s.replicas == 0 {
		return s.client.Do(ctx, cmd), nil
	}
	wait := s.client.B().Wait().Numreplicas(s.replicas).Timeout(s.waitMillis).Build()
	var res []rueidis.RedisResult
	if s.client.Mode() != rueidis.ClientModeCluster {
		// A batch with a blocking command (WAIT) goes to one connection
		// of the blocking pool, written with one flush.
		res = s.client.DoMulti(ctx, cmd, wait)
	} else {
		// Pinned, so that a redirect can send the commands again.
		cmd, wait = cmd.Pin(), wait.Pin()
		s.client.Dedicated(func(d rueidis.DedicatedClient) error {
			res = d.DoMulti(ctx, cmd, wait)
			return nil
		})
		res = s.redirect(ctx, res, cmd, wait)
	}
	if res[0].Error() != nil {
		return res[0], nil
	}
	n, err := res[1].AsInt64()
	switch {
	case err != nil:
		return res[0], fmt.Errorf("%w: WAIT: %w", ErrNotReplicated, err)
	case n < s.replicas:
		return res[0], fmt.Errorf("%w: %d of %d replicas acknowledged it within %v", ErrNotReplicated, n, s.replicas, s.waitFor)
	}
	return res[0], nil
}

// redirect follows a MOVED or ASK reply to the write of a Cluster batch
// once, sending the whole batch to the node named, and returns the new
// results; else it returns res. The write did not happen where it was
// redirected from, so sending it again is safe.
func (s *Store) redirect(ctx context.Context, res []rueidis.RedisResult, cmd, wait rueidis.Completed) []rueidis.RedisResult {
	rerr, ok := rueidis.IsRedisErr(res[0].Error())
	if !ok {
		return res
	}
	addr, moved := rerr.IsMoved()
	if !moved {
		var ask bool
		if addr, ask = rerr.IsAsk(); !ask {
			return res
		}
	}
	node, ok := s.client.Nodes()[addr]
	if !ok {
		return res
	}
	if moved {
		return node.DoMulti(ctx, cmd, wait)
	}
	return node.DoMulti(ctx, node.B().Asking().Build(), cmd, wait)[1:]
}

// replicaErr wraps err, the replication error of a successful write for
// op, if any.
func (s *Store) replicaErr(err error, op string) error {
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return nil
}
