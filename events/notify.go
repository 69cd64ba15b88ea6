package events

import "time"

// Notification streams. The notifier derives notifications from the other
// domains' events, so a notification itself is never an event: the inbox
// is a projection and can be rebuilt from the log. What is recorded is what
// a person did with their inbox and what the notifier did with the mail.
const (
	CategoryInbox      = "inbox"      // inbox-<user id>: items read
	CategoryMailPrefs  = "mailprefs"  // mailprefs-<user id>: email on or off, per kind
	CategoryMail       = "mail"       // mail-<notification id>: one email's delivery
	CategoryMailCursor = "mailcursor" // mailcursor-<name>: how far mail decisions are done
)

func InboxStream(userID string) string        { return StreamName(CategoryInbox, userID) }
func MailPrefsStream(userID string) string    { return StreamName(CategoryMailPrefs, userID) }
func MailStream(notificationID string) string { return StreamName(CategoryMail, notificationID) }
func MailCursorStream(name string) string     { return StreamName(CategoryMailCursor, name) }

// NotificationsRead marks inbox items read: the ones listed, or with All
// every item of the inbox created up to the event.
type NotificationsRead struct {
	UserID string   `json:"user_id"`
	IDs    []string `json:"ids,omitempty"`
	All    bool     `json:"all,omitempty"`
}

// EmailPreferenceSet turns email on or off for one kind of notification
// (Kind "*" for every kind that can be turned off). Via says whether the
// person chose it on the preferences page or by a one-click unsubscribe.
type EmailPreferenceSet struct {
	UserID string `json:"user_id"`
	Kind   string `json:"kind"`
	Email  bool   `json:"email"`
	Via    string `json:"via,omitempty"` // "preferences" or "unsubscribe"
}

// MailClaimed: a notifier takes one email for an attempt. The mail stream
// is appended with the revision the notifier read, so of two notifiers one
// wins; the lease lets another take the mail over when the winner dies
// before it records how the attempt went.
type MailClaimed struct {
	NotificationID string    `json:"notification_id"`
	Kind           string    `json:"kind"`
	UserID         string    `json:"user_id"`
	Attempt        int       `json:"attempt"`
	Notifier       string    `json:"notifier"`
	LeaseUntil     time.Time `json:"lease_until"`
}

// MailSent: the SMTP server accepted the message.
type MailSent struct {
	NotificationID string `json:"notification_id"`
	MessageID      string `json:"message_id"`
	Attempt        int    `json:"attempt"`
}

// MailAttemptFailed: the server could not take the message now; another
// attempt follows at RetryAt. Reason is the server's answer, never the
// message or the address.
type MailAttemptFailed struct {
	NotificationID string    `json:"notification_id"`
	Attempt        int       `json:"attempt"`
	Reason         string    `json:"reason"`
	RetryAt        time.Time `json:"retry_at"`
}

// MailFailed: the message was refused for good or every attempt failed; it
// stays in the inbox and on the organisers' list of failed mail.
type MailFailed struct {
	NotificationID string `json:"notification_id"`
	Kind           string `json:"kind"`
	UserID         string `json:"user_id"`
	Attempts       int    `json:"attempts"`
	Reason         string `json:"reason"`
}

// MailCursorMoved: every email due from events up to Position is sent,
// failed or decided against, so a notifier starting later looks at the
// log after it only.
type MailCursorMoved struct {
	Position Position `json:"position"`
}

func registerNotify(r *Registry) {
	r.Register("notify.NotificationsRead", NotificationsRead{}, 1)
	r.Register("notify.EmailPreferenceSet", EmailPreferenceSet{}, 1)
	r.Register("notify.MailClaimed", MailClaimed{}, 1)
	r.Register("notify.MailSent", MailSent{}, 1)
	r.Register("notify.MailAttemptFailed", MailAttemptFailed{}, 1)
	r.Register("notify.MailFailed", MailFailed{}, 1)
	r.Register("notify.MailCursorMoved", MailCursorMoved{}, 1)
}
