package conference

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/yunqi-town/yunqi/events"
)

// calendarTZID is the zone every session is written in: the venue's,
// so that a calendar shows the programme's own times wherever it is read.
const calendarTZID = "Asia/Shanghai"

// calendarLang is "zh" (the default) or "en".
type calendarLang string

const (
	calendarZH calendarLang = "zh"
	calendarEN calendarLang = "en"
)

func calendarLangOf(q string) calendarLang {
	if strings.HasPrefix(strings.ToLower(q), "en") {
		return calendarEN
	}
	return calendarZH
}

// calEntry is one VEVENT, copied out of the ledger so that it is written
// after the ledger has moved on.
type calEntry struct {
	UID         string
	Summary     string
	Location    string
	Description string
	// Start and End for a session; Days for the edition as a whole, its
	// first and last day (inclusive) in the venue's calendar.
	Start, End       time.Time
	AllDay           bool
	FirstDay, EndDay time.Time // EndDay is the day after the last, as DTEND;VALUE=DATE wants
	// Sequence and Modified are how often and when the entry last moved:
	// a calendar app replaces its copy when SEQUENCE grows.
	Sequence int
	Modified time.Time
}

// calendarUID names an entry for good: the same session of the same
// registration keeps its UID however often it moves.
func calendarUID(session, registration string) string {
	if session == "" {
		return registration + "@yunqi"
	}
	return session + "." + registration + "@yunqi"
}

// calendarEntries are what a registration holds: its confirmed sessions,
// or, with none, the edition's days. A registration without a place at the
// conference (waitlisted, offered, cancelled) holds nothing to put in a
// calendar.
func calendarEntries(ed *Edition, reg *Registration, lang calendarLang) []calEntry {
	if reg.Status != events.StatusConfirmed {
		return nil
	}
	edition := calendarName(lang, ed.NameZH, ed.NameEN)
	var out []calEntry
	for _, sid := range reg.Sessions {
		s := ed.Sessions[sid]
		if s == nil || reg.Seats[sid] != events.StatusConfirmed {
			continue
		}
		e := calEntry{UID: calendarUID(sid, reg.ID), Location: ed.Venue, Start: s.StartsAt, End: s.EndsAt,
			Sequence: s.Sequence, Modified: s.Changed}
		if lang == calendarEN {
			e.Summary = s.Title + " (" + edition + ")"
		} else {
			e.Summary = s.Title + "（" + edition + "）"
		}
		e.Description = sessionDescription(lang, ed, s)
		out = append(out, e)
	}
	if len(out) > 0 {
		slices.SortStableFunc(out, func(a, b calEntry) int { return a.Start.Compare(b.Start) })
		return out
	}
	first, ok := editionDay(ed.StartsOn)
	if !ok {
		return nil // an edition without dates has nothing to put on a day
	}
	last, ok := editionDay(ed.EndsOn)
	if !ok || last.Before(first) {
		last = first
	}
	return []calEntry{{UID: calendarUID("", reg.ID), Summary: edition, Location: ed.Venue, AllDay: true,
		FirstDay: first, EndDay: last.AddDate(0, 0, 1), Sequence: ed.DetailsSequence, Modified: ed.DetailsChanged}}
}

func calendarName(lang calendarLang, zh, en string) string {
	if lang == calendarEN {
		return cmp.Or(strings.TrimSpace(en), zh)
	}
	return cmp.Or(strings.TrimSpace(zh), en)
}

func sessionDescription(lang calendarLang, ed *Edition, s *Session) string {
	var lines []string
	label := func(zh, en string) string {
		if lang == calendarEN {
			return en + ": "
		}
		return zh + "："
	}
	if s.Room != "" {
		lines = append(lines, label("会场", "Room")+s.Room)
	}
	for _, t := range ed.Tracks {
		if t.ID == s.Track && s.Track != "" {
			lines = append(lines, label("专场", "Track")+calendarName(lang, t.NameZH, t.NameEN))
		}
	}
	if len(s.Speakers) > 0 {
		sep := "、"
		if lang == calendarEN {
			sep = ", "
		}
		lines = append(lines, label("讲者", "Speakers")+strings.Join(s.Speakers, sep))
	}
	return strings.Join(lines, "\n")
}

// renderCalendar writes entries as an RFC 5545 calendar. DTSTAMP is the
// entry's last change rather than the time of the download, so that the
// same programme is the same file, byte for byte, however often it is
// fetched (and a subscription's polling changes nothing).
func renderCalendar(name string, entries []calEntry) []byte {
	cal := ics.NewCalendar()
	cal.SetProductId("-//Yunqi//Conference calendar//EN")
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	cal.SetXWRCalName(name)
	cal.SetXWRTimezone(calendarTZID)
	// Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so
	// one STANDARD rule describes every date a conference can have.
	tz := cal.AddTimezone(calendarTZID)
	std := tz.AddStandard()
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), "+0800")
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), "+0800")
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzname), "CST")
	std.AddProperty(ics.ComponentPropertyDtStart, "19700101T000000")
	for _, e := range entries {
		ev := cal.AddEvent(e.UID)
		stamp := e.Modified
		if stamp.IsZero() {
			stamp = time.Unix(0, 0) // events from before the fold kept change times
		}
		ev.SetDtStampTime(stamp)
		ev.SetModifiedAt(stamp)
		ev.SetSequence(e.Sequence)
		if e.AllDay {
			ev.SetAllDayStartAt(e.FirstDay)
			ev.SetAllDayEndAt(e.EndDay)
		} else {
			ev.SetProperty(ics.ComponentPropertyDtStart, e.Start.In(shanghai).Format("20060102T150405"), ics.WithTZID(calendarTZID))
			ev.SetProperty(ics.ComponentPropertyDtEnd, e.End.In(shanghai).Format("20060102T150405"), ics.WithTZID(calendarTZID))
		}
		ev.SetSummary(calText(e.Summary))
		if e.Location != "" {
			ev.SetLocation(calText(e.Location))
		}
		if e.Description != "" {
			ev.SetDescription(calText(e.Description))
		}
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	var b bytes.Buffer
	_ = cal.SerializeTo(&b) // a bytes.Buffer does not fail
	return b.Bytes()
}

// calText keeps organisers' text from breaking a calendar's lines: the
// library escapes newlines but not a carriage return or other controls.
func calText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r':
			return -1
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}

// registrationCalendarName and feedCalendarName title the calendars as a
// calendar app lists them.
func registrationCalendarName(lang calendarLang, ed *Edition) string {
	return calendarName(lang, ed.NameZH, ed.NameEN)
}

func feedCalendarName(lang calendarLang) string {
	if lang == calendarEN {
		return "Yunqi: my sessions"
	}
	return "云栖：我的日程"
}
