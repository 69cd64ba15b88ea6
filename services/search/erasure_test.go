package search_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/services/search"
)

// countingIndex is an index that counts the compactions asked of it.
type countingIndex struct {
	search.Index
	compactions *atomic.Int64
}

func (c countingIndex) Compact(ctx context.Context) error {
	c.compactions.Add(1)
	return c.Index.(search.Compactor).Compact(ctx)
}

// TestErasureCompactsTheIndex: the projector compacts the index after an
// erasure (Bleve's merges alone may leave a deleted document's bytes in a
// segment for good), and not for other writes.
func TestErasureCompactsTheIndex(t *testing.T) {
	data := t.TempDir()
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var n atomic.Int64
	open := func(dir string) (search.Index, error) {
		ix, err := openBleve(dir)
		return countingIndex{ix, &n}, err
	}
	svc, err := search.New(search.Config{Dir: filepath.Join(data, "index"), Open: open}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	put := func(payload any) events.Position {
		ev, err := events.Types.New(payload, events.Metadata{Actor: events.ActorSystem, Visibility: events.Owner})
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(ctx, events.UserStream("u-ada"), events.Any, ev)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	wait := func(p events.Position) {
		wctx, stop := context.WithTimeout(ctx, 90*time.Second)
		defer stop()
		if err := svc.WaitFor(wctx, p); err != nil {
			t.Fatal(err)
		}
	}
	wait(put(events.ProfileUpdated{UserID: "u-ada", Personal: events.ProfileFields{DisplayName: "庄小雨"}, Publish: events.ProfilePublish{DisplayName: true}}))
	time.Sleep(100 * time.Millisecond)
	if got := n.Load(); got != 0 {
		t.Fatalf("%d compactions before any erasure", got)
	}
	wait(put(events.AccountErased{UserID: "u-ada", By: events.ErasedBySelf}))
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the index was not compacted after the erasure")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
