// Package sessions provides typed server-side HTTP sessions.
//
// A Manager[T] keeps one value of your type T per visitor. The browser holds
// only a random token in a cookie; the data lives in a store (memory by
// default; files, Redis, Memcached, MongoDB and SQL through options), keyed by
// a hash of the token.
//
//	type Cart struct{ Items []string }
//
//	mgr, err := sessions.New[Cart](sessions.WithIdleTimeout(30 * time.Minute))
//	...
//	defer mgr.Close()
//	http.ListenAndServe(":8080", mgr.Middleware(mux))
//
//	// in a handler
//	cart := mgr.Get(r.Context())
//	cart.Items = append(cart.Items, "apple") // saved because it changed
//
// What the manager does for you:
//
//   - Loading is lazy: a request that never calls Get costs no store I/O and
//     gets no cookie. A new session that is never changed is never stored.
//   - Changes are found by comparing encodings, with no "mark modified" call.
//     A read-only request does not rewrite the data; with an idle timeout it
//     slides the expiry with the store's cheapest operation.
//   - Tokens are 32 random bytes; a cookie that is not exactly such a token
//     never reaches the store, and a token the store does not know is never
//     adopted. Renew at login issues a new token; Destroy at logout deletes
//     the data and the cookie.
//   - A store outage goes to the error handler (500 by default) and never
//     overwrites stored data with an empty session. Stored data that no longer
//     decodes (T changed shape incompatibly) gives a fresh session and a log
//     line, not an endless 500.
//   - Changes made after the response started are still saved.
//
// Without cookies (API tokens, WebSockets, gRPC), use Load and Commit.
package sessions
