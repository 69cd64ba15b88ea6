package sqlitekeys

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/keystoretest"
)

func TestConformance(t *testing.T) {
	keystoretest.Run(t, keystoretest.Harness{
		New: func(t *testing.T) keystore.Backend {
			s, err := Open(filepath.Join(t.TempDir(), "keys.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Raw: func(t *testing.T, b keystore.Backend) []byte {
			path := b.(*Store).Path()
			var all []byte
			for _, f := range []string{path, path + "-wal", path + "-journal"} {
				if data, err := os.ReadFile(f); err == nil {
					all = append(all, data...)
				}
			}
			return all
		},
	})
}

func TestRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-keys.db")
	if err := os.WriteFile(path, []byte("hello, not a database at all, long enough to be read"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("opened a file that is not a key store")
	}
}
