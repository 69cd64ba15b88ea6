package meiliindex

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/meiliindex/meilitest"
	"github.com/yunqi-town/yunqi/services/search/searchtest"
)

const testKey = "test-master-key-0123456789"

func standIn(t testing.TB) (*meilitest.Server, *Client) {
	t.Helper()
	srv := meilitest.New(t, testKey)
	c, err := Connect(context.Background(), Config{URL: srv.URL, APIKey: testKey, RetryDelay: time.Millisecond, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, c
}

func suite(t *testing.T, c *Client, prefix string) {
	searchtest.Run(t, searchtest.Options{
		Open: func(t *testing.T, name string) search.Index {
			ix, err := c.Open(context.Background(), prefix+strings.NewReplacer("/", "-", " ", "_").Replace(name))
			if err != nil {
				t.Fatal(err)
			}
			return ix
		},
		// Meilisearch ranks by its rules in strict order; the cases of
		// our engine's weighted ranking do not apply.
		SkipEngineRanking: true,
	})
}

func TestConformanceStandIn(t *testing.T) {
	_, c := standIn(t)
	suite(t, c, "")
}

// TestConformanceServer runs the suite against a real Meilisearch. Each
// run uses fresh index names; they are left on the server.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv("YUNQI_TEST_MEILI_URL")
	if url == "" {
		t.Skip("YUNQI_TEST_MEILI_URL is not set: no Meilisearch server to test against")
	}
	c, err := Connect(context.Background(), Config{URL: url, APIKey: os.Getenv("YUNQI_TEST_MEILI_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	suite(t, c, "yunqi_test_"+time.Now().Format("20060102150405")+"_")
}

// TestErasureStandIn runs the erasure scenario against the stand-in:
// Meilisearch compacts its own storage, so deleting the documents is the
// whole of it.
func TestErasureStandIn(t *testing.T) {
	_, c := standIn(t)
	searchtest.RunErasure(t, searchtest.ErasureOptions{
		Open: func(dir string) (search.Index, error) {
			return c.Open(context.Background(), "yunqi_"+strings.ReplaceAll(filepath.Base(filepath.Dir(dir))+"_"+filepath.Base(dir), "-", "_"))
		},
	})
}
