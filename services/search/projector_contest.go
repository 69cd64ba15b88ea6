package search

import (
	"net/url"
	"strings"

	"github.com/yunqi-town/yunqi/events"
)

// Contest entries are searchable once published in the gallery. Of a
// contest's stream only EntryPublished is decoded: teams, drafts, judges
// and scores (with the people behind them) are never read. The event is
// self-contained and final, so each one is an upsert and nothing deletes.

// SubmissionID is the index id of a published contest entry.
func SubmissionID(contestID, teamID string) string {
	return TypeSubmission + ":" + contestID + "/" + teamID
}

// AwardFinalist is the award facet of a finalist entry without an award.
const AwardFinalist = "finalist"

const typeEntryPublished = "contest.EntryPublished"

// SubmissionDocument is the search document of a gallery entry. Authors
// are the members who chose a public name (the event lists no one else);
// their member ids are not indexed.
func SubmissionDocument(e events.EntryPublished) Document {
	var authors []string
	for _, m := range e.Members {
		authors = append(authors, m.DisplayName)
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

// projectContest maps a published entry; every other contest event is
// ignored without being decoded.
func (p *projection) projectContest(e events.Event, payload any) op {
	if e.Metadata.Visibility != events.Public {
		return op{ignore: true}
	}
	v, ok := payload.(events.EntryPublished)
	if !ok || v.ContestID == "" || v.TeamID == "" {
		return op{ignore: true}
	}
	d := SubmissionDocument(p.mem.withoutErased(v))
	return op{id: d.ID, doc: &d}
}
