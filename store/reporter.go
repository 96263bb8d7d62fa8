package store

import "context"

// ExpiredReporter is implemented by stores whose removal of expired
// records (their background cleanup and ExpiredDeleter.DeleteExpired) can
// tell which records it removed. A sessions.Manager with an event hook
// subscribes, so that a session that expires unseen is still reported.
// Stores whose backend drops expired records on its own (Redis TTLs,
// memcached, MongoDB's TTL monitor) cannot report them and do not
// implement it.
type ExpiredReporter interface {
	// ReportExpired makes the store call fn with the key and the data of
	// each expired record it removes, after removing it, until the
	// returned stop is called; after stop returns, fn is not called
	// again. fn runs in the goroutine that removed the records (the
	// cleanup's, or DeleteExpired's caller's), with that goroutine's
	// context, one record at a time; it may keep data. It must not call
	// ReportExpired or stop. Records a store drops for another reason (a
	// full memory store evicting one, an overwrite) are not reported.
	ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func())
}
