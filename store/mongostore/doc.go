// Package mongostore keeps sessions in a MongoDB collection, using
// go.mongodb.org/mongo-driver/v2.
//
// Each session is one document:
//
//	{_id: key, data: BinData, expiresAt: ISODate}
//
// New creates a TTL index on expiresAt (expireAfterSeconds: 0), so the
// server's TTL monitor removes expired documents. The monitor runs about
// once a minute, so every read also filters on expiresAt: an expired session
// is never returned, whether or not its document is still there.
//
// Servers without TTL indexes answer the index request with NotImplemented.
// FerretDB is one of them: it has no TTL monitor. On such a server the store
// falls back to a background cleanup that deletes expired documents every
// minute (see WithCleanupInterval). DeleteExpired does the same on demand
// on any server.
//
// BSON dates hold milliseconds. The store rounds deadlines up to the next
// millisecond when saving and compares them with the current time rounded
// the same way, so a session is never returned after its deadline and is
// hidden at most one millisecond early.
//
// A document is limited to 16 MiB; Save reports larger records with
// store.ErrTooLarge.
package mongostore
