/*
Package sessions provides typed server-side HTTP sessions.

A [Manager] keeps one value of your type T per visitor. The browser holds
only a random token in a cookie; the data lives in a store (memory by
default; files, Redis, Memcached, MongoDB and SQL), keyed by a hash of the
token.

	type Cart struct{ Items []string }

	mgr, err := sessions.New[Cart](sessions.WithIdleTimeout(30 * time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()
	http.ListenAndServe(":8080", mgr.Middleware(mux))

	// in a handler
	cart := mgr.Get(r.Context())
	cart.Items = append(cart.Items, "apple") // saved because it changed

T must be a struct or a map type. Only the exported fields of a struct are
stored. A map T such as map[string]any starts as an empty map, for
Flask-style dictionary sessions.

# The request lifecycle

[Manager.Middleware] puts a session into each request's context. Loading
is lazy: a request that never calls [Manager.Get] costs no store I/O and
gets no cookie. Get loads the session on first use and returns a *T to
change in place; there is no "mark modified" call. Right before the
response starts, the manager encodes the value and compares it with what
was loaded: a read-only request writes nothing, and a new session that was
never changed is never stored. Changes made after the response started
are saved when the handler returns.

The *T belongs to the request: do not keep it after the handler returns,
and do not use it from other goroutines without your own locking. Get
outside Middleware (or [Manager.Load]) panics: it is a programming error.

At login call [Manager.Renew] (a new token defeats session fixation) and,
to list and revoke a user's sessions later, [Manager.SetOwner]. At logout
call [Manager.Destroy]. [Manager.RememberMe] chooses between a persistent
and a browser-session cookie.

Without cookies (API tokens, WebSockets, gRPC), use [Manager.Load] and
[Manager.Commit] with the token in a header or message.

# Options

[New] and every store package's New take functional options, and apply
them by one set of rules. Options apply in order, so a later one
overrides an earlier one. A nil option is ignored ([Option],
[CookieOption] and every store's Option alike), so a list can be built
with conditionals. An invalid value makes New return an error saying
which and why (wrapping [ErrInvalidConfig] at the root), and nothing is
started. A nil *slog.Logger passed to any WithLogger means
slog.Default(), which is also the default; the memory store the manager
creates ([WithMemory]) logs to the manager's logger unless its own
WithLogger says otherwise.

# Stores

The memory store (package store/memstore) is the default and the only
store the root package links. The others (store/fsstore,
store/redisstore, store/memcachedstore, store/mongostore,
store/sqlstore) come from their own packages through [WithStore] or
[WithManagedStore], so a program links only the stores and clients it
uses. A store is three methods, [store.Store]; optional interfaces make
it cheaper or safer: [store.Versioned] (conditional writes: every
built-in store has them), [store.LoadToucher]. Package storetest is the
conformance suite every store passes, yours included.

The store packages look alike: New returns a *Store and an error (taking
a context first where it does I/O); Close is idempotent, stops the
store's background work and never closes a client you passed in. The
stores that delete expired records in the background (memory, files,
SQL, and MongoDB on servers without TTL indexes) have WithCleanupInterval
(default one minute in every one of them; zero or less turns it off) and
WithLogger: a failed cleanup logs at level Warn, since the next run
retries, and a cleanup that removed records says how many at level
Debug. A store dropped without Close still stops its goroutine.

Every store call the manager makes is bounded by [WithStoreTimeout]
(default 5 s). The manager closes the stores it created and those given
to WithManagedStore; it never closes clients or databases you pass in.

# Concurrency

Two requests for one session at once (two tabs, a page and its XHRs) lose
nothing. On stores with conditional writes every save lands only on the
version the request loaded; when another request saved first, the fields
this request changed (as the codec stores them: top-level fields, those of
embedded structs, map keys for a map T) are merged into the other writer's
value and the save is retried. When both changed the same field, the later
save wins. For read-modify-write, such as a counter, use [Manager.Update]:
it reruns its function on the freshest value, so no increment is lost. A
[Manager.Renew] takes effect at the save, where the old record becomes a
forward to the new one: a racing request's change follows it, and of two
racing logins the loser's response leaves the cookie alone. A session that
was destroyed or revoked stays dead, with every session a racing Renew
moved it to: a slow request that loaded it cannot write it back. Stores
without conditional writes are last-writer-wins. LIFECYCLE.md in the
repository states the whole model: what every operation does to the live
tokens, the record and the owner index, and what a racing request sees.

# Security

Tokens are 32 bytes from crypto/rand in base64url (43 characters). A
cookie that is not exactly such a token never reaches the store, and a
token the store does not know is never adopted. When a request carries
several session cookies (one planted from a sibling subdomain, say), the
well-formed ones are tried in order, so a planted cookie neither logs the
user out nor gets adopted. Store keys are hashes of tokens, so read access
to the store does not hand out live sessions; session IDs ([Info].ID) are
hashes too. Expiry is enforced on read, whatever the backend's TTL does.
The CBOR decoder rejects hostile input. Turn on [CookieSecure] in
production.

[WithEncryption] seals every record with XAES-256-GCM, bound to its
store key, so that reads of the store, its backups and replicas reveal
no session value and no owner; a record that does not open is a fresh
session. Keys rotate without signing anybody out: a previous key still
opens, each write seals under the current one, and [Manager.Rekey]
reseals the rest through [store.Scanner], which the stores that can list
keys implement.

# Errors

A store that fails or hangs while loading makes [Manager.Get] answer the
request through the error handler ([WithErrorHandler]; default: a log line
and 500), from clean headers, within the store timeout; nothing is written
afterwards, so an empty session never overwrites stored data.
[Manager.Lookup] returns such errors ([ErrLoadFailed]) instead. A record
over [WithMaxSize] (default 1 MiB) is refused before anything is written,
with an error wrapping [store.ErrTooLarge]. Data that no longer decodes
gives a fresh session and a log line, never a 500 loop. Configuration
errors wrap [ErrInvalidConfig]; [ErrResponseStarted], [ErrNoSession],
[ErrSessionChanged] and [ErrInvalidID] are the others callers branch on.
*/
package sessions
