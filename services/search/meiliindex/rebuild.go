package meiliindex

import (
	"context"
	"fmt"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/yunqi-town/yunqi/services/search"
)

// A rebuild without downtime: build a fresh index beside the live one
// (Staging), project the log into it from the start, then Promote it.
// Meilisearch's swap-indexes exchanges the two names in one task, so a
// search sees either the old documents or the new, never a half-built
// index; Index values keep their uid, so the live one answers from the
// new documents at once.

// stagingSuffix names the index a rebuild writes.
const stagingSuffix = "_next"

// Staging opens an empty index beside uid for a rebuild, deleting what a
// rebuild that was interrupted left there.
func (c *Client) Staging(ctx context.Context, uid string) (*Index, error) {
	name := uid + stagingSuffix
	if err := c.deleteIndex(ctx, name); err != nil {
		return nil, err
	}
	return c.Open(ctx, name)
}

// Promote swaps the staging index in as live (creating live when it does
// not exist yet) and deletes the old documents, now under the staging
// name. The staging Index is closed.
func (c *Client) Promote(ctx context.Context, live, staging *Index) error {
	if live.uid+stagingSuffix != staging.uid {
		return fmt.Errorf("meilisearch: %s is not the staging index of %s", staging.uid, live.uid)
	}
	err := staging.run(ctx, "swap indexes", func() (*meilisearch.TaskInfo, error) {
		return c.meli.SwapIndexes(ctx, []*meilisearch.SwapIndexesParams{{Indexes: []string{live.uid, staging.uid}}})
	})
	if err != nil {
		return err
	}
	staging.Close()
	return c.deleteIndex(ctx, staging.uid)
}

// Delete deletes the index uid, if there is one.
func (c *Client) Delete(ctx context.Context, uid string) error { return c.deleteIndex(ctx, uid) }

func (c *Client) deleteIndex(ctx context.Context, uid string) error {
	ix := &Index{c: c, uid: uid}
	return ix.run(ctx, "delete index", func() (*meilisearch.TaskInfo, error) {
		return c.meli.DeleteIndex(ctx, uid)
	}, "index_not_found")
}

// TenantToken signs a token for searches scoped by filter, for a browser
// or another service to search Meilisearch directly without seeing more
// than filter admits (Meilisearch ANDs it with any filter of the search
// and refuses every other route). apiKey must be a search key whose uid
// is apiKeyUID; expires is required, since a token cannot be revoked
// short of deleting the key. Yunqi's own pages search through the
// service, which applies its visibility rules before indexing, so none
// needs a token today.
func (ix *Index) TenantToken(apiKey, apiKeyUID string, filter search.Expr, expires time.Time) (string, error) {
	if expires.IsZero() {
		return "", fmt.Errorf("meilisearch tenant token: an expiry is required")
	}
	rule := map[string]any{"filter": notCheckpoint}
	if filter != nil {
		rule["filter"] = notCheckpoint + " AND (" + filter.String() + ")"
	}
	tok, err := ix.c.meli.GenerateTenantToken(apiKeyUID, map[string]any{ix.uid: rule},
		&meilisearch.TenantTokenOptions{APIKey: apiKey, ExpiresAt: expires})
	if err != nil {
		return "", fmt.Errorf("meilisearch tenant token for %s: %w", ix.uid, err)
	}
	return tok, nil
}
