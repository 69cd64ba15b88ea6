package search

import (
	"net/url"
	"slices"
	"strings"

	"github.com/yunqi-town/yunqi/events"
)

// Collections are searchable from their first published edition on. Of a
// collection's stream only CollectionPublished is decoded: creating,
// editing and reordering are the curators' work in progress (visibility
// owner), and they go on after an edition is out, so they neither add to
// the index nor take the published edition out of it. Each edition is
// self-contained (details and pinned chapters as published), so the
// newest simply replaces the one before under the same id.

// CollectionID is the index id of a collection.
func CollectionID(id string) string { return TypeCollection + ":" + id }

const typeCollectionPublished = "blog.CollectionPublished"

// CollectionDocument is the search document of a published edition. The
// preface is indexed as plain text, followed by the part and chapter
// titles, so that a book is found by what is in it; its authors are the
// chapters' authors, once each.
func CollectionDocument(c events.CollectionPublished) Document {
	body := []string{PlainText(strings.ToValidUTF8(c.Preface, "\uFFFD"), events.FormatMarkdown)}
	var authors []string
	part := ""
	for _, ch := range c.Chapters {
		if p := cleanText(ch.Part); p != "" && p != part {
			body = append(body, p)
		}
		part = cleanText(ch.Part)
		body = append(body, cleanText(ch.Title))
		for _, a := range cleanList(ch.Authors) {
			if !slices.Contains(authors, a) {
				authors = append(authors, a)
			}
		}
	}
	d := Document{
		ID:         CollectionID(c.ID),
		Type:       TypeCollection,
		URL:        "/blog/collections/" + url.PathEscape(c.ID) + "/",
		Collection: c.ID,
		Edition:    max(c.Edition, 0),
		Title:      cleanText(c.Title),
		TitleEN:    cleanText(c.TitleEn),
		Summary:    cleanText(c.Subtitle),
		Authors:    authors,
		Body:       capText(strings.TrimSpace(strings.Join(cleanList(body), "\n"))),
	}
	if d.TitleEN == d.Title {
		d.TitleEN = ""
	}
	if !c.Published.IsZero() {
		d.Date = c.Published.UTC()
		d.Year = d.Date.Year()
	}
	return d
}

// projectCollection maps a public published edition; every other
// collection event is ignored without being decoded.
func (p *projection) projectCollection(e events.Event, payload any) op {
	if e.Metadata.Visibility != events.Public {
		return op{ignore: true}
	}
	v, ok := payload.(events.CollectionPublished)
	if !ok || v.ID == "" {
		return op{ignore: true}
	}
	d := CollectionDocument(p.mem.collection(v))
	return op{id: d.ID, doc: &d}
}
