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

// reminder is Config.OfferReminder: the fraction of an offer's window
// after which the registrant is reminded (0: the default, negative: never).
// erased tells whether an account has been erased, so that a ledger
// loaded after the erasure never takes the person's name in (nil: none
// are).
func newLedger(id string, store events.Store, _ *slog.Logger, now func() time.Time, reminder float64, erased func(string) bool) *ledger {
	reminder = reminderFraction(reminder)
	return events.NewLedger(events.LedgerConfig[*Edition]{
		Name:   "edition " + id,
		Stream: events.EditionStream(id),
		Store:  store,
		Now:    now,
		New: func() *Edition {
			ed := newEdition()
			ed.erased = erased
			return ed
		},
		Apply:      func(ed *Edition, p any, at time.Time) { ed.Apply(p, at) },
		Visibility: visibility,
		// Offers are reminded of and lapse with nobody asking: the
		// ledger's clock moves them on.
		NextWake: func(ed *Edition) time.Time { return ed.nextWake(reminder) },
		Wake: request{Decide: func(ed *Edition, now time.Time, emit emit) (any, error) {
			ed.remind(now, reminder, emit)
			ed.expire(now, emit)
			return nil, nil
		}, Meta: events.Metadata{Actor: events.ActorSystem}},
	})
}

// visibility classifies conference events for timelines and pages.
func visibility(p any) events.Visibility {
	switch p.(type) {
	case events.EditionScheduled, events.EditionCapacityChanged, events.PolicySet, events.TrackAdded,
		events.SessionScheduled, events.SessionCapacityChanged, events.TicketTypeDefined, events.RegistrationWindowSet,
		events.SessionRescheduled:
		return events.Public
	case events.InviteCodeIssued, events.TicketScanRefused, events.GateDeviceRevoked:
		return events.Staff
	}
	return events.Owner
}
