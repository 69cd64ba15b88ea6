package web

import (
	"net/http"
	"time"
)

// homeData holds the figures the home page quotes. They are public history
// of the conference and the alliance, kept as values so that each language
// formats them its own way.
type homeData struct {
	FirstConferenceYear   string // a year is a name, not a quantity: no separators
	FirstAttendees        int
	AttendeesIn2015       int
	ProvincesIn2015       int
	AllianceFounded       time.Time
	FoundingMembers       int
	ProgressPosts         int
	ProgressPrintedYear   string
	ConferenceRenamedYear string
}

var home = homeData{
	FirstConferenceYear:   "2009",
	FirstAttendees:        400,
	AttendeesIn2015:       22_000,
	ProvincesIn2015:       32,
	AllianceFounded:       time.Date(2013, time.October, 24, 19, 0, 0, 0, DisplayZone),
	FoundingMembers:       30,
	ProgressPosts:         100,
	ProgressPrintedYear:   "2014",
	ConferenceRenamedYear: "2015",
}

// home is the front page: what Yunqi is and what is on. It shows no member
// data at all, so nobody's email (or anything else) can leak through it.
func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	u.own.Render(w, r, http.StatusOK, "home", Page{Title: "home.title", Data: home})
}
