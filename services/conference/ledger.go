package conference

import (
	"log/slog"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// ledger owns one edition's stream; see events.Ledger for why commands
// are decided in batches.
type ledger = events.Ledger[*Edition]

type request = events.Command[*Edition]

func newLedger(id string, store events.Store, _ *slog.Logger, now func() time.Time) *ledger {
	return events.NewLedger(events.LedgerConfig[*Edition]{
		Name:       "edition " + id,
		Stream:     events.EditionStream(id),
		Store:      store,
		Now:        now,
		New:        newEdition,
		Apply:      func(ed *Edition, p any, at time.Time) { ed.Apply(p, at) },
		Visibility: visibility,
		// Offers lapse with nobody asking: the ledger's clock moves them on.
		NextWake: func(ed *Edition) time.Time { return ed.nextExpiry() },
		Wake: request{Decide: func(ed *Edition, now time.Time, emit emit) (any, error) {
			ed.expire(now, emit)
			return nil, nil
		}, Meta: events.Metadata{Actor: events.ActorSystem}},
	})
}

// visibility classifies conference events for timelines and pages.
func visibility(p any) events.Visibility {
	switch p.(type) {
	case events.EditionScheduled, events.EditionCapacityChanged, events.PolicySet, events.TrackAdded,
		events.SessionScheduled, events.SessionCapacityChanged, events.TicketTypeDefined, events.RegistrationWindowSet:
		return events.Public
	case events.InviteCodeIssued, events.TicketScanRefused, events.GateDeviceRevoked:
		return events.Staff
	}
	return events.Owner
}
