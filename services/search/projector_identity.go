package search

import (
	"net/url"

	"github.com/yunqi-town/yunqi/events"
)

// Developer profiles. This is the one place where the index reads identity
// streams, and it reads as little as it can: of a user stream it decodes
// only ProfileUpdated (never the registration with its email and password
// hash, nor sessions), and of that event only the fields whose publish
// flag is set are copied. ProfileUpdated is the whole profile each time,
// so every event either replaces the document or, when nothing is
// published, deletes it: unpublishing a field removes it from the index.
//
// Identity events are of visibility owner, never public: what is public is
// decided per field by the person, through the publish flags, and those
// are what this projection obeys.

// DeveloperID is the index id of a developer profile.
func DeveloperID(userID string) string { return TypeDeveloper + ":" + userID }

const typeProfileUpdated = "identity.ProfileUpdated"

// DeveloperDocument is the search document of the published part of a
// profile; ok is false when nothing is published, and then nothing about
// the person may be indexed. Links are not indexed: they are for the
// profile page, not for finding people.
func DeveloperDocument(userID string, fields events.ProfileFields, publish events.ProfilePublish) (Document, bool) {
	d := Document{
		ID:     DeveloperID(userID),
		Type:   TypeDeveloper,
		URL:    "/identity/people/" + url.PathEscape(userID),
		UserID: userID,
	}
	if publish.DisplayName {
		d.Name = cleanText(fields.DisplayName)
	}
	if publish.Bio {
		d.Summary = capText(cleanText(fields.Bio))
	}
	if publish.City {
		d.City = cleanText(fields.City)
	}
	if publish.Skills {
		d.Skills = cleanList(fields.Skills)
	}
	ok := d.Name != "" || d.Summary != "" || d.City != "" || len(d.Skills) > 0
	return d, ok
}

// projectProfile maps a profile update to the developer's document.
func (p *projection) projectProfile(e events.Event) op {
	if e.Type != typeProfileUpdated {
		return op{ignore: true}
	}
	payload, ok := p.decode(e)
	if !ok {
		return op{ignore: true}
	}
	v, ok := payload.(events.ProfileUpdated)
	if !ok || v.UserID == "" {
		return op{ignore: true}
	}
	id := DeveloperID(v.UserID)
	if p.mem.erased[v.UserID] {
		return op{id: id} // said of an erased account: never indexed again
	}
	// Only the owner's own events carry a profile; anything else (a staff
	// or system event of this type would be a writer's mistake) publishes
	// nothing.
	if e.Metadata.Visibility != events.Owner && e.Metadata.Visibility != events.Public {
		return op{id: id}
	}
	d, ok := DeveloperDocument(v.UserID, v.Personal, v.Publish)
	if !ok {
		return op{id: id}
	}
	return op{id: id, doc: &d}
}
