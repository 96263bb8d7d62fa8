// Package rootstores runs the root module's store tests that need a real
// server and test unexported code (package memcachedstore, mongostore and
// sqlstore, not _test packages), which cannot move to this module: its
// tests start the servers in containers, as the other packages of this
// module do, then run `go test` on those packages in the root module with
// the servers' addresses in the variables internal/backendenv reads.
//
// In the root module alone (`go test ./...` there) those tests skip, saying
// how to run them; here, with SESSIONS_TEST_REQUIRE=1, a test that finds no
// server fails. The flags that matter are passed on: -race (from the build),
// -short, -v and what is left of -timeout; -count=1 always, since the
// servers are new on every run.
package rootstores
