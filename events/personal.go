package events

import (
	"encoding/json"
	"fmt"
)

// PersonalSubject is implemented by payloads whose personal member belongs
// to a person the payload names (an editor, a reviewer): Registry.New
// fills Metadata.Subject from it when the caller left it empty, so every
// producer of such an event seals under the right key.
type PersonalSubject interface {
	PersonalSubject() string
}

// MoveIntoPersonal is the upcaster of an event type whose personal fields
// sat at the top level before: it moves them into the personal member.
func MoveIntoPersonal(fields ...string) Upcaster {
	return func(e Event) (Event, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return e, err
		}
		personal := map[string]json.RawMessage{}
		if raw, ok := m[PersonalMember]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &personal); err != nil {
				return e, fmt.Errorf("the %s member is not an object: %w", PersonalMember, err)
			}
		}
		moved := false
		for _, f := range fields {
			if v, ok := m[f]; ok {
				personal[f], moved = v, true
				delete(m, f)
			}
		}
		if !moved {
			return e, nil
		}
		b, err := json.Marshal(personal)
		if err != nil {
			return e, err
		}
		m[PersonalMember] = b
		if e.Data, err = json.Marshal(m); err != nil {
			return e, err
		}
		return e, nil
	}
}

// NotPersonal declares the event fields whose JSON names look like personal
// data but are not, each with the reason. Everything personal sits in the
// PersonalMember of its event, sealed under the subject's key;
// TestPersonalFieldsDeclared fails on a field that is in neither place.
var NotPersonal = map[string]string{
	"alliance.ApplicationDrafted.profile.city":       "the startup's city, a fact about a company",
	"alliance.ApplicationDrafted.profile.name_en":    "the startup's name",
	"alliance.ApplicationDrafted.profile.name_zh":    "the startup's name",
	"alliance.ApplicationEdited.profile.city":        "the startup's city",
	"alliance.ApplicationEdited.profile.name_en":     "the startup's name",
	"alliance.ApplicationEdited.profile.name_zh":     "the startup's name",
	"alliance.MemberAdmitted.profile.city":           "the startup's city",
	"alliance.MemberAdmitted.profile.name_en":        "the startup's name",
	"alliance.MemberAdmitted.profile.name_zh":        "the startup's name",
	"alliance.MemberProfileUpdated.profile.city":     "the startup's city",
	"alliance.MemberProfileUpdated.profile.name_en":  "the startup's name",
	"alliance.MemberProfileUpdated.profile.name_zh":  "the startup's name",
	"alliance.StartupNameClaimed.name":               "a startup's folded name, the key of its uniqueness stream",
	"blog.BlogCreated.name":                          "the blog's name (its address), chosen for the public",
	"blog.BlogUpdated.name":                          "the blog's name",
	"blog.PostDrafted.PostContent.content_hash":      "a hash of the post's public text, to detect changes",
	"blog.PostImported.PostContent.content_hash":     "a hash of the post's public text",
	"blog.PostPublished.PostContent.content_hash":    "a hash of the post's public text",
	"blog.PostRevised.PostContent.content_hash":      "a hash of the post's public text",
	"conference.EditionDetailsChanged.name_en":       "the edition's name",
	"conference.EditionDetailsChanged.name_zh":       "the edition's name",
	"conference.EditionScheduled.name_en":            "the edition's name",
	"conference.EditionScheduled.name_zh":            "the edition's name",
	"conference.InviteCodeIssued.code_hash":          "a hash of an invite code, which names nobody",
	"conference.InviteCodeRevoked.code_hash":         "a hash of an invite code",
	"conference.RegistrationPlaced.invite_code_hash": "a hash of the invite code used",
	"conference.TrackAdded.name_en":                  "a track's name",
	"conference.TrackAdded.name_zh":                  "a track's name",
	"contest.ContestCreated.awards.name_en":          "an award's name",
	"contest.ContestCreated.awards.name_zh":          "an award's name",
	"contest.ContestCreated.name_en":                 "the contest's name",
	"contest.ContestCreated.name_zh":                 "the contest's name",
	"contest.ContestCreated.tracks.name_en":          "a track's name",
	"contest.ContestCreated.tracks.name_zh":          "a track's name",
	"contest.EntryPublished.award_name_en":           "an award's name",
	"contest.EntryPublished.award_name_zh":           "an award's name",
	"contest.EntryPublished.contest_name_en":         "the contest's name",
	"contest.EntryPublished.contest_name_zh":         "the contest's name",
	"contest.EntryPublished.team_name":               "a team's name, chosen for the public gallery",
	"contest.EntryPublished.track_name_en":           "a track's name",
	"contest.EntryPublished.track_name_zh":           "a track's name",
	"contest.RubricPublished.criteria.name_en":       "a rubric criterion's name",
	"contest.RubricPublished.criteria.name_zh":       "a rubric criterion's name",
	"contest.SubmissionSaved.attachments.name":       "an attachment's file name, part of the team's entry",
	"contest.TeamCreated.invite_code_hash":           "a hash of the team's invite code",
	"contest.TeamCreated.name":                       "a team's name",
	"contest.TeamInviteRenewed.invite_code_hash":     "a hash of the team's invite code",
	"identity.ProfileUpdated.publish.bio":            "a flag: whether the bio is shown",
	"identity.ProfileUpdated.publish.city":           "a flag: whether the city is shown",
	"identity.ProfileUpdated.publish.display_name":   "a flag: whether the name is shown",
	"identity.SessionRefreshed.token_hash":           "a hash of a random refresh secret, which names nobody",
	"identity.SessionStarted.token_hash":             "a hash of a random refresh secret",
	"notify.EmailPreferenceSet.email":                "a flag: email on or off",
	"blog.BlogDeleted.name":                          "the deleted blog's name",
	"blog.BlogAuthorLinked.author":                   "a byline of imported posts, part of their published text; the account it points to is an id",
	"blog.CollectionPublished.chapters.authors":      "the chapters' bylines as published, part of the posts' public text",
	"blog.PostDrafted.PostContent.authors":           "the byline in the post's own text (front matter or feed); an account's name is the sealed editor name",
	"blog.PostImported.PostContent.authors":          "the byline in the imported post's own text",
	"blog.PostPublished.PostContent.authors":         "the byline in the post's own text",
	"blog.PostRevised.PostContent.authors":           "the byline in the post's own text",
}

// The person each event's personal member belongs to, for Registry.New to
// name as the subject when a producer did not.
func (e UserRegistered) PersonalSubject() string             { return e.UserID }
func (e EmailChanged) PersonalSubject() string               { return e.UserID }
func (e EmailVerificationRequested) PersonalSubject() string { return e.UserID }
func (e EmailVerified) PersonalSubject() string              { return e.UserID }
func (e ProfileUpdated) PersonalSubject() string             { return e.UserID }
func (e ApplicationDrafted) PersonalSubject() string         { return e.Applicant }
func (e RegistrationPlaced) PersonalSubject() string         { return e.MemberID }
func (e CalendarFeedIssued) PersonalSubject() string         { return e.MemberID }
func (e TeamCreated) PersonalSubject() string                { return e.OwnerID }
func (e TeamMemberJoined) PersonalSubject() string           { return e.MemberID }
func (e JudgeAssigned) PersonalSubject() string              { return e.JudgeID }
func (e GalleryMemberNamed) PersonalSubject() string         { return e.MemberID }
