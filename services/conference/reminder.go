package conference

import (
	"slices"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// defaultReminder is how much of an offer's window passes before the
// registrant is reminded: halfway leaves as long to answer as has gone.
const defaultReminder = 0.5

// reminderFraction reads Config.OfferReminder: 0 is the default, a
// negative value turns reminders off (returned as a negative fraction).
func reminderFraction(configured float64) float64 {
	if configured == 0 {
		return defaultReminder
	}
	return configured
}

// remindAt is the reminder moment of an offer made at from that lapses at
// until; zero when reminders are off or the offer's start is unknown.
func remindAt(from, until time.Time, fraction float64) time.Time {
	if fraction < 0 || from.IsZero() || !until.After(from) {
		return time.Time{}
	}
	return from.Add(time.Duration(float64(until.Sub(from)) * fraction))
}

// remind records a reminder for every open offer whose reminder moment has
// come and whose window has not yet run out. The ledger decides it on its
// clock, like expiry; the Reminded mark the event folds in is what keeps
// a replayed or woken ledger from reminding twice.
func (ed *Edition) remind(now time.Time, fraction float64, emit emit) {
	if ed.OpenOffers == 0 || fraction < 0 {
		return
	}
	type due struct {
		reg, target string
		until       time.Time
	}
	var list []due
	for _, r := range ed.Regs {
		for t, until := range r.Offers {
			at := remindAt(r.OfferedAt[t], until, fraction)
			if at.IsZero() || r.Reminded[t] || now.Before(at) || !now.Before(until) {
				continue
			}
			list = append(list, due{r.ID, t, until})
		}
	}
	slices.SortFunc(list, func(a, b due) int { return strings.Compare(a.reg+"/"+a.target, b.reg+"/"+b.target) })
	for _, d := range list {
		emit(events.OfferReminderDue{EditionID: ed.ID, RegistrationID: d.reg, SessionID: d.target, ExpiresAt: d.until})
	}
}

// nextReminder is the earliest reminder moment still to come (zero: none).
func (ed *Edition) nextReminder(fraction float64) time.Time {
	var first time.Time
	if ed.OpenOffers == 0 || fraction < 0 {
		return first
	}
	for _, r := range ed.Regs {
		for t, until := range r.Offers {
			if r.Reminded[t] {
				continue
			}
			at := remindAt(r.OfferedAt[t], until, fraction)
			if !at.IsZero() && at.Before(until) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
	}
	return first
}

// nextWake is when the ledger next has something to decide on its own:
// a reminder or an expiry, whichever comes first.
func (ed *Edition) nextWake(fraction float64) time.Time {
	exp, rem := ed.nextExpiry(), ed.nextReminder(fraction)
	switch {
	case exp.IsZero():
		return rem
	case rem.IsZero() || exp.Before(rem):
		return exp
	}
	return rem
}
