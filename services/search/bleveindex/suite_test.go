package bleveindex

import (
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/searchtest"
)

func TestConformance(t *testing.T) {
	root := t.TempDir()
	searchtest.Run(t, searchtest.Options{
		Open: func(t *testing.T, name string) search.Index {
			ix, err := Open(filepath.Join(root, name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			return ix
		},
	})
}

// TestErasure runs the erasure scenario on the index on disk, whose files
// must lose the erased person's bytes.
func TestErasure(t *testing.T) {
	searchtest.RunErasure(t, searchtest.ErasureOptions{
		Open:   func(dir string) (search.Index, error) { return Open(dir, Options{}) },
		OnDisk: true,
	})
}
