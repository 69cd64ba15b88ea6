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
