package web

import "time"

// AuditView is what the shared "auditview" partial draws: the filter form
// and the table of staff actions that every service's audit page shows.
// Each service reads and words its own actions; the page around them is
// one, so the three audit views look and read alike.
type AuditView struct {
	Action        string // the page's own address, for the filter form
	Form          *Form  // fields kind, actor, from, to
	Kinds, Actors []Option
	Rows          []AuditRow
	Count         string
	// WithSubject adds a column naming what each action concerned.
	WithSubject bool
	// ClearHref, when set, offers to drop the filter.
	ClearHref string
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// AuditRow is one staff action, already in the reader's language.
type AuditRow struct {
	At            time.Time
	Who, What     string
	Subject, Href string
}
