package sessions_test

import (
	"testing"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// TestMapStore runs the conformance suite on ExampleWithStore's store,
// as the test of a store of one's own does. It lives apart from the
// example so that the example's file shows whole on pkg.go.dev.
func TestMapStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMapStore() })
}
