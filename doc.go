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

This is the API guide. The [README] is the project's landing page, with
the list of guides: [concurrency], [owners and revocation], [failures],
[security], [stores], [operations] (the options in a table), [coming from
Flask-Session], [benchmarks] and [testing].

# A request

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

# The calls

With the context of a request (or of [Manager.Load]):

  - [Manager.Get] returns the session value; a new session has the zero
    value. When the store fails, the error handler answers the request and
    Get returns a detached zero value that is never saved.
  - [Manager.Fetch] is Get that returns a load error to you instead of the
    error handler.
  - [Manager.Update] is a read-modify-write that loses no concurrent update
    (counters, carts, rate limits), saved before it returns.
  - [Manager.Renew] gives the session a new token with the same data and
    restarts its lifetime; the old token stops working. Call it at login: a
    new token defeats session fixation.
  - [Manager.Destroy] deletes the data now and expires the cookie. Call it
    at logout.
  - [Manager.SetPersistent] chooses, for "remember me", between a
    persistent cookie (true) and a browser-session cookie (false).
  - [Manager.SetOwner] binds the session to a user ID. Call it at login,
    after Renew, to list and revoke the user's sessions later. It records
    the time of authentication: [Manager.AuthAge] tells how long ago,
    [Manager.Reauthenticated] records a new one (the password entered
    again) with a new token, and [Manager.RequireRecentAuth] guards the
    routes of sensitive changes with it.
  - [Manager.ID] returns the session's ID, a hash of the token that is safe
    to show: "" for a new session, an error if the session could not be
    loaded.

Across a user's sessions:

  - [Manager.Sessions] returns an owner's live sessions, each an [Info]
    (ID, Created, Expires, AuthenticatedAt, LastSeen, Persistent,
    Current, Data).
  - [Manager.Revoke] ends one session by ID, [Manager.RevokeOwner] all of
    an owner's ("sign out everywhere"), and [Manager.RevokeOthers] all of
    the request's owner's but the request's own. [Manager.RevokeAll]
    ends every session under the key prefix.
  - [WithOwnerLimit] bounds an owner's sessions: at the limit, SetOwner
    ends the least recently active one ([EvictOldest]) or returns
    [ErrTooManySessions] ([RefuseNew]).

Without cookies (API tokens, WebSockets, gRPC), [Manager.Load] starts a
session from a token carried in a header or message, and [Manager.Commit]
saves it and returns the token to send back. [Manager.Close] stops the
manager's background work and closes the stores it manages.

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
WithLogger says otherwise. The [operations] guide has every option of
New with its default in one table.

# Stores

The memory store (package [memstore]) is the default and the only store
the root package links. The others ([fsstore], [redisstore],
[memcachedstore], [mongostore], [sqlstore]) come from their own packages
through [WithStore] or [WithManagedStore], so a program links only the
stores and clients it uses. A store is three methods, [store.Store];
optional interfaces make it cheaper or safer: [store.Versioned]
(conditional writes: every built-in store has them), [store.LoadToucher].
Package [storetest] is the conformance suite every store passes, yours
included (see [WithStore]'s example).

The store packages look alike: New returns a *Store and an error (taking
a context first where it does I/O); Close is idempotent, stops the
store's background work and never closes a client you passed in. The
stores that delete expired records in the background have
WithCleanupInterval and WithLogger, with the same defaults and log
levels; the [stores] guide gives the details and each store's setup.

Every store call the manager makes is bounded by [WithStoreTimeout]
(default 5 s). The manager closes the stores it created and those given
to [WithManagedStore]; it never closes a store given to [WithStore], nor
clients or databases you pass in.

# Concurrency

Two requests for one session at once (two tabs, a page and its XHRs) lose
nothing. On stores with conditional writes every save lands only on the
version the request loaded; when another request saved first, the fields
this request changed (as the codec stores them: top-level fields, those of
embedded structs, map keys for a map T) are merged into the other writer's
value and the save is retried. When both changed the same field, the later
save wins. For read-modify-write, such as a counter, use [Manager.Update]:
it reruns its function on the freshest value, so no increment is lost. A
session that was destroyed or revoked stays dead, with every session a
racing [Manager.Renew] moved it to: a slow request that loaded it cannot
write it back. Stores without conditional writes are last-writer-wins.
The [concurrency] guide tells how Renew and logins race and what is
measured and checked; [LIFECYCLE.md] states the whole model: what every
operation does to the live tokens, the record and the owner index, and
what a racing request sees.

# Security

Tokens are 32 bytes from crypto/rand; a cookie that is not exactly such a
token never reaches the store, and a token the store does not know is
never adopted. Store keys and session IDs ([Info].ID) are hashes of
tokens, so read access to the store does not hand out live sessions.
Expiry is enforced on read, whatever the backend's TTL does. Turn on
[CookieSecure] in production. The [security] guide lists every measure.

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
[Manager.Fetch] returns such errors ([ErrLoadFailed]) instead. A record
over [WithMaxSize] (default 1 MiB) is refused before anything is written,
with an error wrapping [store.ErrTooLarge]. A value a built-in codec could
not read back is refused the same way ([ErrNotEncodable]). Data that no
longer decodes gives a fresh session and a log line, never a 500 loop.
Configuration errors wrap [ErrInvalidConfig]; [ErrResponseStarted],
[ErrNoSession], [ErrSessionChanged] and [ErrInvalidID] are the others
callers branch on.

[README]: https://github.com/sessionkit/sessions#readme
[concurrency]: https://github.com/sessionkit/sessions/blob/main/docs/concurrency.md
[owners and revocation]: https://github.com/sessionkit/sessions/blob/main/docs/owners.md
[failures]: https://github.com/sessionkit/sessions/blob/main/docs/failures.md
[security]: https://github.com/sessionkit/sessions/blob/main/docs/security.md
[stores]: https://github.com/sessionkit/sessions/blob/main/docs/stores.md
[operations]: https://github.com/sessionkit/sessions/blob/main/docs/operations.md
[coming from Flask-Session]: https://github.com/sessionkit/sessions/blob/main/docs/flask.md
[benchmarks]: https://github.com/sessionkit/sessions/blob/main/docs/benchmarks.md
[testing]: https://github.com/sessionkit/sessions/blob/main/docs/testing.md
[LIFECYCLE.md]: https://github.com/sessionkit/sessions/blob/main/LIFECYCLE.md
[memstore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/memstore
[fsstore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/fsstore
[redisstore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/redisstore
[memcachedstore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/memcachedstore
[mongostore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/mongostore
[sqlstore]: https://pkg.go.dev/github.com/sessionkit/sessions/store/sqlstore
[storetest]: https://pkg.go.dev/github.com/sessionkit/sessions/storetest
*/
package sessions
