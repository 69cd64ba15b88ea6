package storetest

import (
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func TestSuiteAgainstMemory(t *testing.T) {
	t.Run("DurableDedup", func(t *testing.T) {
		Run(t, func(*testing.T) events.Store { return newMemStore(true) })
	})
	// Without the capability the suite must skip the stronger guarantee
	// rather than depend on it elsewhere.
	t.Run("EventStoreDBLike", func(t *testing.T) {
		Run(t, func(*testing.T) events.Store { return newMemStore(false) })
	})
}
