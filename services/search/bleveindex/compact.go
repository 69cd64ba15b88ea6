package bleveindex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"

	"github.com/yunqi-town/yunqi/services/search"
)

var _ search.Compactor = (*Index)(nil)

// Compact rewrites the index so that the bytes of deleted documents leave
// its files. Scorch only marks a document deleted in the segment that
// holds it; its terms and stored fields stay in that segment's file until
// the segment is merged into another. A forced merge into one segment
// drops them, and the persister then removes the old files. Scorch's
// planner never merges a lone segment, however many deleted documents it
// holds, so when the index is one segment, one of its live documents is
// written again first: a second segment to merge with.
//
// It returns once the index is one segment without deleted documents, or
// ctx ends. Searches go on meanwhile; writes wait.
func (ix *Index) Compact(ctx context.Context) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.ErrClosed
	}
	adv, err := ix.idx.Advanced()
	if err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return errors.New("search index: compact: not a scorch index")
	}
	sentinelPending, sentinelDone := false, false
	for ctx.Err() == nil {
		segs, deleted, live, err := ix.segmentState()
		if err != nil {
			return err
		}
		if sentinelPending && segs <= 1 {
			if err := ix.writeSentinel(ctx, true); err != nil {
				return err
			}
			sentinelPending, sentinelDone = false, true
			continue
		}
		if segs == 0 && !sentinelDone {
			// Nothing live in memory: scorch has dropped a fully deleted
			// segment from its snapshot, but its file stays on disk until
			// the persister writes a new root. A placeholder written and
			// deleted again makes it do so.
			if err := ix.writeSentinel(ctx, false); err != nil {
				return err
			}
			if err := ix.writeSentinel(ctx, true); err != nil {
				return err
			}
			sentinelDone = true
			continue
		}
		if segs <= 1 && !deleted {
			return nil
		}
		if live == compactionSentinel {
			live = ""
		}
		if segs == 1 {
			if live == "" {
				if sentinelDone {
					// What is left holds the sentinel's bytes only.
					return nil
				}
				// Every document of the lone segment is deleted, and its
				// file still holds them until a merge replaces it: a
				// placeholder with no content gives the merge something
				// to write, and is deleted again after.
				if err := ix.writeSentinel(ctx, false); err != nil {
					return err
				}
				sentinelPending = true
				continue
			}
			if err := ix.rewrite(ctx, live); err != nil {
				return err
			}
			continue
		}
		opts := mergeplan.SingleSegmentMergePlanOptions
		if err := sc.ForceMerge(ctx, &opts); err != nil {
			// One forced merge at a time: another is under way, so wait
			// for it and look again.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return ctx.Err()
}

// segmentState reads the newest snapshot: how many segments it has,
// whether any holds deleted documents, and the id of a live document.
func (ix *Index) segmentState() (segs int, deleted bool, live string, err error) {
	is, err := ix.snapshot()
	if err != nil {
		return 0, false, "", fmt.Errorf("search index: compact: %w", err)
	}
	defer is.Close()
	for _, ss := range is.Segments() {
		if ss.Count() == 0 && ss.Deleted() == nil {
			continue
		}
		segs++
		if d := ss.Deleted(); d != nil && !d.IsEmpty() {
			deleted = true
		}
	}
	if segs > 0 {
		ids, err := is.DocIDReaderAll()
		if err != nil {
			return 0, false, "", fmt.Errorf("search index: compact: %w", err)
		}
		defer ids.Close()
		if n, err := ids.Next(); err == nil && n != nil {
			live, err = is.ExternalID(n)
			if err != nil {
				return 0, false, "", fmt.Errorf("search index: compact: %w", err)
			}
		}
	}
	return segs, deleted, live, nil
}

// rewrite writes a live document again as it is, in a batch of its own,
// and waits until it is persisted (the merge planner looks at persisted
// segments only).
func (ix *Index) rewrite(ctx context.Context, id string) error {
	d, err := ix.document(nil, id)
	if err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	doc, err := toBleve(d)
	if err != nil {
		return err
	}
	batch := ix.idx.NewBatch()
	if err := batch.Index(id, doc); err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	return ix.writePersisted(ctx, batch)
}

// compactionSentinel is the id of the placeholder Compact writes into an
// index whose every document is deleted. It has no fields, so no search
// finds it.
const compactionSentinel = "\x00yunqi-compaction"

// writeSentinel indexes (or, with remove, deletes) the placeholder and
// waits until that is persisted.
func (ix *Index) writeSentinel(ctx context.Context, remove bool) error {
	batch := ix.idx.NewBatch()
	if remove {
		batch.Delete(compactionSentinel)
	} else if err := batch.Index(compactionSentinel, map[string]any{}); err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	return ix.writePersisted(ctx, batch)
}
