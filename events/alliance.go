package events

// Alliance streams. An application and a membership are separate
// aggregates: an application is a private conversation between a startup
// and the reviewers that ends in a decision, a membership is a public
// profile that lives on for years. A startup name is claimed in a stream of
// its own so that two open applications for the same startup cannot both
// get in, whatever process takes them.
const (
	CategoryApplication    = "application"    // application-<id>: draft, review, decision
	CategoryMember         = "member"         // member-<id>: the public profile and its history
	CategoryStartupClaim   = "startupclaim"   // startupclaim-<hash of the normalised name>
	CategoryAlliancePolicy = "alliancepolicy" // alliancepolicy-decision: the decision rule in force
)

// ApplicationStream names the stream of one application.
func ApplicationStream(id string) string { return StreamName(CategoryApplication, id) }

// MemberStream names the stream of one alliance member.
func MemberStream(id string) string { return StreamName(CategoryMember, id) }

// StartupClaimStream names the claim of one startup name (hashed, so that
// the stream name stays short and ASCII whatever the name's script).
func StartupClaimStream(nameHash string) string { return StreamName(CategoryStartupClaim, nameHash) }

// AlliancePolicyStream is the one stream of the alliance's decision rule.
const AlliancePolicyStream = CategoryAlliancePolicy + "-decision"

// Membership tiers.
const (
	TierFounding = "founding" // the companies that founded the alliance on 2013-10-24
	TierMember   = "member"
)

// StartupProfile is what a startup tells about itself; every field may be
// published once the startup is a member. Description is plain text as
// typed: pages escape it, and the search index takes it as text.
type StartupProfile struct {
	NameZH      string `json:"name_zh,omitempty"`
	NameEN      string `json:"name_en,omitempty"`
	Website     string `json:"website,omitempty"`
	City        string `json:"city,omitempty"`
	Industry    string `json:"industry,omitempty"`
	FoundedYear int    `json:"founded_year,omitempty"` // 0: not stated
	TeamSize    int    `json:"team_size,omitempty"`    // 0: not stated
	Description string `json:"description,omitempty"`
	// Logo is the content address of the uploaded image: its SHA-256 in hex
	// and the extension of its sniffed type ("3f…9a.png").
	Logo string `json:"logo,omitempty"`
}

// ApplicantContact is the applicant's contact person: personal data, in a
// sub-object of its own so that per-person encryption can wrap it, and
// never on a public page or in the search index. Events carrying it have
// Metadata.Subject set to the applicant's user id.
type ApplicantContact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// ApplicationDrafted opens an application stream.
type ApplicationDrafted struct {
	ApplicationID string           `json:"application_id"`
	Applicant     string           `json:"applicant"` // user id
	Profile       StartupProfile   `json:"profile"`
	Personal      ApplicantContact `json:"personal"`
}

// ApplicationEdited replaces the profile and contact as a whole: while a
// draft, or after reviewers asked for changes.
type ApplicationEdited struct {
	ApplicationID string           `json:"application_id"`
	Profile       StartupProfile   `json:"profile"`
	Personal      ApplicantContact `json:"personal"`
	Changed       []string         `json:"changed,omitempty"` // profile field names, for the timeline
}

// ApplicationSubmitted puts the application before the reviewers; Round
// counts submissions (1 for the first, 2 after the first changes…), and
// votes belong to a round.
type ApplicationSubmitted struct {
	ApplicationID string `json:"application_id"`
	Round         int    `json:"round"`
}

// Review votes.
const (
	VoteApprove        = "approve"
	VoteReject         = "reject"
	VoteRequestChanges = "request_changes"
)

// ReviewVoted is one reviewer's vote in a round. Comment is for the
// applicant; the reviewer's identity is staff data that the applicant's
// timeline shows only when RevealReviewer (from the policy in force) says
// so. An internal note goes in a separate, staff-only ReviewNoteAdded.
// ReviewerPersonal is the reviewer's name as staff see it on the vote,
// sealed under the reviewer's key (version 1 had it at the top level).
type ReviewerPersonal struct {
	ReviewerName string `json:"reviewer_name,omitempty"`
}

func (e ReviewVoted) PersonalSubject() string { return e.Reviewer }

type ReviewVoted struct {
	ApplicationID    string `json:"application_id"`
	Round            int    `json:"round"`
	Reviewer         string `json:"reviewer"` // user id
	ReviewerPersonal `json:"personal,omitzero"`
	Vote             string `json:"vote"`
	Comment          string `json:"comment"`
	RevealReviewer   bool   `json:"reveal_reviewer,omitempty"`
}

// ReviewNoteAdded is a reviewer's internal note (Staff visibility).
type ReviewNoteAdded struct {
	ApplicationID string `json:"application_id"`
	Round         int    `json:"round"`
	Reviewer      string `json:"reviewer"`
	Note          string `json:"note"`
}

// Decision sources.
const (
	DecidedByPolicy    = "policy"    // the votes met the decision rule
	DecidedByOrganizer = "organizer" // an organiser decided outright
)

// ApplicationChangesRequested hands the application back to the applicant.
type ApplicationChangesRequested struct {
	ApplicationID string `json:"application_id"`
	Round         int    `json:"round"`
	DecidedBy     string `json:"decided_by"`
	Comment       string `json:"comment,omitempty"` // for the applicant
}

// ApplicationApproved closes the application; MemberID names the
// membership opened next (MemberAdmitted in member-<MemberID>).
type ApplicationApproved struct {
	ApplicationID string         `json:"application_id"`
	Round         int            `json:"round"`
	DecidedBy     string         `json:"decided_by"`
	Policy        DecisionPolicy `json:"policy"`
	MemberID      string         `json:"member_id"`
	Comment       string         `json:"comment,omitempty"`
}

// ApplicationRejected closes the application with a reason for the
// applicant, who may apply again.
type ApplicationRejected struct {
	ApplicationID string         `json:"application_id"`
	Round         int            `json:"round"`
	DecidedBy     string         `json:"decided_by"`
	Policy        DecisionPolicy `json:"policy"`
	Reason        string         `json:"reason"`
}

// ApplicationWithdrawn: the applicant gave up an open application.
type ApplicationWithdrawn struct {
	ApplicationID string `json:"application_id"`
}

// DecisionPolicy is the rule that turns votes into a decision. It is an
// event, not a constant, so that every decision can say which rule made it.
type DecisionPolicy struct {
	// ApprovalsRequired approvals in a round, and no rejection, approve.
	ApprovalsRequired int `json:"approvals_required"`
	// RejectionsRequired rejections in a round reject.
	RejectionsRequired int `json:"rejections_required"`
	// One request for changes hands the application back at once: the
	// applicant should not wait for a second reviewer to agree.
	// RevealReviewers shows the applicant who wrote each comment.
	RevealReviewers bool `json:"reveal_reviewers,omitempty"`
}

// DecisionPolicySet replaces the decision rule from now on; decisions
// already taken keep the rule recorded in them.
type DecisionPolicySet struct {
	Policy DecisionPolicy `json:"policy"`
}

// StartupNameClaimed reserves a startup's name for a submitted application
// or a member. A claim is only as good as its holder: once the application
// is closed or the membership has ended, the next claim takes over, so no
// release event is needed (and a crash between two appends cannot leave a
// name blocked for ever).
type StartupNameClaimed struct {
	Name          string `json:"name"` // the folded name the stream is keyed by
	ApplicationID string `json:"application_id,omitempty"`
	MemberID      string `json:"member_id,omitempty"`
}

// MemberAdmitted opens a membership: the public profile as approved, the
// tier and the join date (YYYY-MM-DD, local to Hangzhou, the day the
// alliance counts it from). Owner is the account that may update the
// profile; founding members seeded from history have none.
type MemberAdmitted struct {
	MemberID      string         `json:"member_id"`
	ApplicationID string         `json:"application_id,omitempty"`
	Owner         string         `json:"owner,omitempty"`
	Tier          string         `json:"tier"`
	JoinedOn      string         `json:"joined_on"`
	Profile       StartupProfile `json:"profile"`
}

// MemberProfileUpdated replaces the public profile; Changed lists the
// field names that differ, for the profile's history.
type MemberProfileUpdated struct {
	MemberID string         `json:"member_id"`
	Profile  StartupProfile `json:"profile"`
	Changed  []string       `json:"changed"`
}

// MembershipLapsed and MembershipWithdrawn end a membership: the profile
// leaves the public lists and the search index, its history stays in the
// log (and on the wall as it stood before).
type MembershipLapsed struct {
	MemberID string `json:"member_id"`
	Reason   string `json:"reason,omitempty"`
}

type MembershipWithdrawn struct {
	MemberID string `json:"member_id"`
	Reason   string `json:"reason,omitempty"`
}

// MemberTierChanged moves a membership to another tier; founding is kept
// for the companies of the founding evening, but organisers may correct a
// seeding mistake either way.
type MemberTierChanged struct {
	MemberID string `json:"member_id"`
	From     string `json:"from"`
	Tier     string `json:"tier"`
}

// MembershipReinstated brings a lapsed membership back: the profile
// returns to the public lists as it was. A withdrawal is the member's own
// choice and is not undone by organisers.
type MembershipReinstated struct {
	MemberID string `json:"member_id"`
	Reason   string `json:"reason,omitempty"`
}

func registerAlliance(r *Registry) {
	r.Register("alliance.ApplicationDrafted", ApplicationDrafted{}, 1)
	r.Register("alliance.ApplicationEdited", ApplicationEdited{}, 1)
	r.Register("alliance.ApplicationSubmitted", ApplicationSubmitted{}, 1)
	r.Register("alliance.ReviewVoted", ReviewVoted{}, 2)
	r.RegisterUpcaster("alliance.ReviewVoted", 1, MoveIntoPersonal("reviewer_name"))
	r.Register("alliance.ReviewNoteAdded", ReviewNoteAdded{}, 1)
	r.Register("alliance.ApplicationChangesRequested", ApplicationChangesRequested{}, 1)
	r.Register("alliance.ApplicationApproved", ApplicationApproved{}, 1)
	r.Register("alliance.ApplicationRejected", ApplicationRejected{}, 1)
	r.Register("alliance.ApplicationWithdrawn", ApplicationWithdrawn{}, 1)
	r.Register("alliance.DecisionPolicySet", DecisionPolicySet{}, 1)
	r.Register("alliance.StartupNameClaimed", StartupNameClaimed{}, 1)
	r.Register("alliance.MemberAdmitted", MemberAdmitted{}, 1)
	r.Register("alliance.MemberProfileUpdated", MemberProfileUpdated{}, 1)
	r.Register("alliance.MembershipLapsed", MembershipLapsed{}, 1)
	r.Register("alliance.MembershipWithdrawn", MembershipWithdrawn{}, 1)
	r.Register("alliance.MemberTierChanged", MemberTierChanged{}, 1)
	r.Register("alliance.MembershipReinstated", MembershipReinstated{}, 1)
}
