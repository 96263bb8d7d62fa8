package store

import "context"

// Scanner is implemented by stores that can list the keys they hold, a
// batch at a time: the manager's Rekey goes through every record under its
// key prefix with it, and so can a tool that ends every session. Stores
// whose backend cannot list keys (memcached) do not implement it.
//
// A scan is a series of calls: the first with cursor "", each next one
// with the cursor the previous call returned, until a call returns the
// cursor "". Each call is one bounded piece of work (a page of an index, a
// directory, one SCAN), fit to run within one store timeout. The rules:
//
//   - Every key that starts with prefix and holds a live record from the
//     start to the end of a scan is returned at least once. Keys written or
//     deleted during the scan may be returned or not; a key may be
//     returned more than once; a key whose record has expired may be
//     returned (the caller's Load tells). Keys come in no particular order.
//   - limit (at least 1) bounds the keys one call returns, where the
//     backend allows: a store whose backend only takes a hint (Redis SCAN
//     COUNT) may return somewhat more. A call may return no key and a
//     cursor that is not "": the scan goes on.
//   - A cursor is opaque; it is valid only for the same store and prefix.
//   - A store that cannot list the keys with some prefix (a file store
//     that names files by a hash of their keys) returns an error wrapping
//     errors.ErrUnsupported.
//   - Every call honours ctx, as Store's methods do.
type Scanner interface {
	Scan(ctx context.Context, prefix, cursor string, limit int) (keys []string, next string, err error)
}
