package main

import (
	"testing"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// TestConformance proves mapStore keeps the store contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMapStore() })
}
