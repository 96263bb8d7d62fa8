// Package bench compares github.com/sessionkit/sessions with its peers,
// github.com/alexedwards/scs/v2 and github.com/gorilla/sessions, request
// for request: the same handler work, the same session data, the same
// request and response writer, the same stores where they have one.
//
// It is a separate module so that the root module never depends on the
// libraries it is compared with. See README.md for what is measured and
// cmd/benchtable for the tables.
package bench

import (
	"testing"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
)

// TestMain lets testbackend start (and stop) a Redis server when
// SESSIONS_TEST_REDIS_ADDR does not name one.
func TestMain(m *testing.M) { testbackend.Main(m) }
