package search

import (
	"net/url"
	"strings"

	"github.com/yunqi-town/yunqi/events"
)

// Contest entries are searchable once published in the gallery. Of a
// contest's stream only EntryPublished and the GalleryMemberNamed events
// that follow it are decoded: teams, drafts, judges and scores (with the
// people behind them) are never read. An entry is final, so each of
// those events is an upsert of its document and nothing deletes. The
// names come one event per member, so the document is written from the
// entry as the projector remembers it (erasure.go) with the names known
// so far; the last event of the append writes it whole.
//
// Entries published at version 1 of EntryPublished named their members in
// the entry itself; the upcaster drops those names and no
// GalleryMemberNamed exists for them, so they are indexed without
// authors. The names are still in the teams' events, which this
// projector does not read.

// SubmissionID is the index id of a published contest entry.
func SubmissionID(contestID, teamID string) string {
	return TypeSubmission + ":" + contestID + "/" + teamID
}

// AwardFinalist is the award facet of a finalist entry without an award.
const AwardFinalist = "finalist"

const (
	typeEntryPublished     = "contest.EntryPublished"
	typeGalleryMemberNamed = "contest.GalleryMemberNamed"
)

// SubmissionDocument is the search document of a gallery entry. Authors
// are the members who chose a public name (the event lists no one else),
// in the entry's order, named by names (member id → the name of their
// GalleryMemberNamed); a member without a name there is left out. Member
// ids are not indexed.
func SubmissionDocument(e events.EntryPublished, names map[string]string) Document {
	var authors []string
	for _, m := range e.Members {
		authors = append(authors, names[m.MemberID])
	}
	summary := cleanText(e.Summary)
	body := []string{cleanText(e.TeamName), summary}
	for _, s := range []string{e.TrackNameZH, e.TrackNameEN, e.AwardNameZH, e.AwardNameEN} {
		if s = cleanText(s); s != "" {
			body = append(body, s)
		}
	}
	d := Document{
		ID:      SubmissionID(e.ContestID, e.TeamID),
		Type:    TypeSubmission,
		URL:     "/contest/" + url.PathEscape(e.ContestID) + "/gallery",
		Contest: e.ContestID,
		TeamID:  e.TeamID,
		Title:   cleanText(e.Title),
		Authors: cleanList(authors),
		Summary: summary,
		Body:    capText(strings.TrimSpace(strings.Join(body, "\n"))),
		Year:    max(e.Year, 0),
		Track:   cleanText(e.Track),
		Award:   cleanText(e.Award),
	}
	if d.Award == "" {
		d.Award = AwardFinalist
	}
	if !e.PublishedAt.IsZero() {
		d.Date = e.PublishedAt.UTC()
		if d.Year == 0 {
			d.Year = d.Date.Year()
		}
	}
	return d
}

// projectContest writes a published entry's document as the memory
// holds it after the event: the entry, or one more of its names.
func (p *projection) projectContest(e events.Event, payload any) op {
	if e.Metadata.Visibility != events.Public {
		return op{ignore: true}
	}
	var id string
	switch v := payload.(type) {
	case events.EntryPublished:
		id = SubmissionID(v.ContestID, v.TeamID)
	case events.GalleryMemberNamed:
		id = SubmissionID(v.ContestID, v.TeamID)
	default:
		return op{ignore: true}
	}
	g, ok := p.mem.entries[id]
	if !ok || g.entry.ContestID == "" || g.entry.TeamID == "" {
		return op{ignore: true}
	}
	d := SubmissionDocument(g.entry, g.names)
	return op{id: d.ID, doc: &d}
}
