package notify

// Kinds of notification. The word is the inbox item's kind, the mail's
// X-Yunqi-Kind header and the key of its templates and preference, so it
// never changes once released.
const (
	KindVerifyEmail = "verify_email"

	KindRegistrationConfirmed  = "registration_confirmed"
	KindRegistrationWaitlisted = "registration_waitlisted"
	KindSeatOffered            = "seat_offered"
	KindOfferExpiring          = "offer_expiring"
	KindOfferExpired           = "offer_expired"
	KindRegistrationCancelled  = "registration_cancelled"

	KindApplicationSubmitted = "application_submitted"
	KindChangesRequested     = "changes_requested"
	KindApplicationApproved  = "application_approved"
	KindApplicationDeclined  = "application_declined"

	KindTeamJoined         = "team_joined"
	KindSubmissionReceived = "submission_received"
	KindFinalist           = "finalist"
	KindResultsPublished   = "results_published"

	KindRoleGranted = "role_granted"
	KindRoleRevoked = "role_revoked"

	KindCollectionPostRevised = "collection_post_revised"
)

// kindInfo says how a kind is delivered.
type kindInfo struct {
	Kind string
	// Inbox kinds appear in the inbox; every kind but the address check
	// does, because the inbox is the record a person can always go back to.
	Inbox bool
	// Optional kinds can be taken out of email by the person; a
	// verification link is asked for, so it cannot.
	Optional bool
	// Group orders the preferences page.
	Group string
}

// kinds lists every kind, in the order the preferences page shows them.
var kinds = []kindInfo{
	{KindRegistrationConfirmed, true, true, "conference"},
	{KindRegistrationWaitlisted, true, true, "conference"},
	{KindSeatOffered, true, true, "conference"},
	{KindOfferExpiring, true, true, "conference"},
	{KindOfferExpired, true, true, "conference"},
	{KindRegistrationCancelled, true, true, "conference"},
	{KindApplicationSubmitted, true, true, "alliance"},
	{KindChangesRequested, true, true, "alliance"},
	{KindApplicationApproved, true, true, "alliance"},
	{KindApplicationDeclined, true, true, "alliance"},
	{KindTeamJoined, true, true, "contest"},
	{KindSubmissionReceived, true, true, "contest"},
	{KindFinalist, true, true, "contest"},
	{KindResultsPublished, true, true, "contest"},
	{KindRoleGranted, true, true, "account"},
	{KindRoleRevoked, true, true, "account"},
	{KindCollectionPostRevised, true, true, "blog"},
	{KindVerifyEmail, false, false, "account"},
}

func kindOf(k string) (kindInfo, bool) {
	for _, i := range kinds {
		if i.Kind == k {
			return i, true
		}
	}
	return kindInfo{}, false
}
