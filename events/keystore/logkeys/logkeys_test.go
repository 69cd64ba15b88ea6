package logkeys

import (
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/events/esdbstore"
	"github.com/yunqi-town/yunqi/events/esdbstore/esdbtest"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/keystoretest"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// Raw is nil: a tombstoned stream's bytes leave KurrentDB's files at the
// next scavenge, which no stand-in here performs.
func TestConformanceOnSQLite(t *testing.T) {
	keystoretest.Run(t, keystoretest.Harness{New: func(t *testing.T) keystore.Backend {
		log, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		return New(log)
	}})
}

func TestConformanceOnEventStoreDB(t *testing.T) {
	keystoretest.Run(t, keystoretest.Harness{New: func(t *testing.T) keystore.Backend {
		server := esdbtest.Start(t)
		log, err := esdbstore.Open(server.URL(), esdbstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		return New(log)
	}})
}
