package esdbstore

import (
	"os"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/esdbstore/esdbtest"
	"github.com/yunqi-town/yunqi/events/storetest"
)

// newTestStore opens the adapter on a fresh stand-in.
func newTestStore(t testing.TB) (*Store, *esdbtest.Server) {
	t.Helper()
	si := esdbtest.Start(t)
	s, err := Open(si.URL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, si
}

// TestConformanceStandIn runs the contract through the real client and real
// gRPC against the in-process stand-in.
func TestConformanceStandIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T) events.Store {
		s, _ := newTestStore(t)
		return s
	})
}

// TestConformanceServer runs the contract against a real EventStoreDB or
// KurrentDB, e.g. YUNQI_TEST_ESDB_URL=esdb://127.0.0.1:2113?tls=false.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv("YUNQI_TEST_ESDB_URL")
	if url == "" {
		t.Skip("YUNQI_TEST_ESDB_URL is not set; set it to an esdb:// connection string to run the suite against a real server")
	}
	storetest.Run(t, func(t *testing.T) events.Store {
		s, err := Open(url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
