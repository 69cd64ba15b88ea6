package contest

import (
	"errors"
	"log/slog"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// ledger owns one contest's stream; see events.Ledger for why commands
// are decided in batches (sixty judges scoring at once share one fsync).
type ledger = events.Ledger[*Contest]

type request = events.Command[*Contest]

// erased tells whether an account has been erased (see Contest.erased).
func newLedger(id string, store events.Store, _ *slog.Logger, now func() time.Time, erased func(string) bool) *ledger {
	return events.NewLedger(events.LedgerConfig[*Contest]{
		Name:   "contest " + id,
		Stream: events.ContestStream(id),
		Store:  store,
		Now:    now,
		New: func() *Contest {
			c := newContest()
			c.erased = erased
			return c
		},
		Apply:      func(c *Contest, p any, at time.Time) { c.Apply(p, at) },
		Visibility: visibility,
		Subject:    subject,
	})
}

// applyEvent decodes a stored event into the contest; types this binary
// does not know (written by a newer one) are skipped.
func applyEvent(c *Contest, e events.Event) error {
	p, err := events.Types.Decode(e)
	if errors.Is(err, events.ErrUnknownType) {
		return nil
	}
	if err != nil {
		return err
	}
	c.Apply(p, e.Metadata.OccurredAt)
	return nil
}
