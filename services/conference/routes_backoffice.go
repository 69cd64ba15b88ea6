package conference

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// mountBackOffice adds the organisers' API for running an edition.
func (s *Service) mountBackOffice(r chi.Router) {
	organizer := auth.RequireRole(auth.RoleOrganizer)
	r.With(organizer).Put("/editions/{edition}/details", s.handleUpdateEdition)
	r.With(organizer).Post("/editions/{edition}/tracks", s.handleAddTrack)
	r.With(organizer).Put("/editions/{edition}/ticket-types/{type}", s.handleTicketType)
	r.With(organizer).Get("/editions/{edition}/invite-codes", s.handleInvites)
	r.With(organizer).Delete("/editions/{edition}/invite-codes/{id}", s.handleRevokeInvite)
	r.With(organizer).Get("/editions/{edition}/attendees", s.handleEditionAttendees)
	r.With(organizer).Get("/editions/{edition}/capacity-preview", s.handleCapacityPreview)
}

type detailsInput struct {
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
	StartsOn             string    `json:"starts_on"`
	EndsOn               string    `json:"ends_on"`
	Venue                string    `json:"venue"`
	OfferWindowSeconds   int64     `json:"offer_window_seconds"`
	CancellationDeadline time.Time `json:"cancellation_deadline"`
	RegistrationOpens    time.Time `json:"registration_opens"`
	RegistrationCloses   time.Time `json:"registration_closes"`
	EditionWaitlist      int       `json:"edition_waitlist"`
}

// handleUpdateEdition replaces the edition's details and policies as a
// whole (PUT): a field left out is cleared, as a form would send it.
func (s *Service) handleUpdateEdition(w http.ResponseWriter, r *http.Request) {
	var in detailsInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.UpdateEdition(r.Context(), meta(r), chi.URLParam(r, "edition"), func(UpdateEdition) UpdateEdition {
		return UpdateEdition{NameZH: in.Name.ZH, NameEN: in.Name.EN, StartsOn: in.StartsOn, EndsOn: in.EndsOn, Venue: in.Venue,
			OfferWindow: time.Duration(in.OfferWindowSeconds) * time.Second, CancellationDeadline: in.CancellationDeadline,
			RegistrationOpens: in.RegistrationOpens, RegistrationCloses: in.RegistrationCloses, WaitlistLimit: in.EditionWaitlist}
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, c)
}

type trackInput struct {
	ID   string `json:"id"`
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
}

func (s *Service) handleAddTrack(w http.ResponseWriter, r *http.Request) {
	var in trackInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	t := Track{ID: in.ID, NameZH: in.Name.ZH, NameEN: in.Name.EN}
	_, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.addTrack(t, emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "name": map[string]string{"zh": t.NameZH, "en": t.NameEN}})
}

type ticketTypeInput struct {
	Quota      int  `json:"quota"`
	InviteOnly bool `json:"invite_only"`
}

func (s *Service) handleTicketType(w http.ResponseWriter, r *http.Request) {
	var in ticketTypeInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	t := TicketType{ID: chi.URLParam(r, "type"), Quota: in.Quota, InviteOnly: in.InviteOnly}
	v, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if err := ed.defineTicketType(t, emit); err != nil {
			return nil, err
		}
		return *ed.TicketTypes[t.ID], nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tt := v.(TicketType)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"id": tt.ID, "quota": tt.Quota, "invite_only": tt.InviteOnly, "taken": tt.Taken})
}

func (s *Service) handleInvites(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), chi.URLParam(r, "edition"), func(ed *Edition) (any, error) { return ed.invites(), nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"invite_codes": v})
}

func (s *Service) handleRevokeInvite(w http.ResponseWriter, r *http.Request) {
	_, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.revokeInvite(chi.URLParam(r, "id"), emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// attendeeQuery reads a list's filters and its past moment from the URL.
func attendeeQuery(r *http.Request) (AttendeeFilter, time.Time, error) {
	q := r.URL.Query()
	f := AttendeeFilter{Query: q.Get("q"), Status: q.Get("status"), TicketType: q.Get("ticket_type"),
		CheckedIn: q.Get("checked_in"), Session: q.Get("session")}
	var at time.Time
	if raw := q.Get("at"); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return f, at, &ValidationError{Fields: []FieldError{{"at", "must be a date-time in RFC 3339 format, like 2015-10-14T09:00:00+08:00"}}}
		}
		at = t
	}
	return f, at, nil
}

func (s *Service) handleEditionAttendees(w http.ResponseWriter, r *http.Request) {
	f, at, err := attendeeQuery(r)
	if err == nil {
		var list AttendeeList
		list, err = s.Attendees(r.Context(), chi.URLParam(r, "edition"), f, at)
		if err == nil {
			w.Header().Set("Cache-Control", "no-store")
			if r.URL.Query().Get("format") == "csv" {
				writeAttendeeCSV(w, list)
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, list)
			return
		}
	}
	s.fail(w, r, err)
}

// writeAttendeeCSV writes a list for a spreadsheet; names are neutralised
// so that a spreadsheet never runs one as a formula.
func writeAttendeeCSV(w http.ResponseWriter, list AttendeeList) {
	name := list.Edition
	if list.Session != "" {
		name += "-" + list.Session
	}
	if !list.At.IsZero() {
		name += "-at-" + list.At.UTC().Format("20060102T150405Z")
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	cw := csv.NewWriter(w)
	cw.Write([]string{"position", "registration", "member", "name", "ticket_type", "status", "sessions", "checked_in", "gate"})
	for _, a := range list.Attendees {
		cw.Write([]string{strconv.Itoa(a.Position), a.Registration, a.Member, csvSafe(a.Name), a.TicketType, a.Status,
			strings.Join(a.Sessions, " "), strconv.FormatBool(a.CheckedIn), csvSafe(a.Gate)})
	}
	cw.Flush()
}

func (s *Service) handleCapacityPreview(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("capacity"))
	if err != nil {
		s.fail(w, r, &ValidationError{Fields: []FieldError{{"capacity", "must be a whole number"}}})
		return
	}
	p, err := s.PreviewCapacity(r.Context(), chi.URLParam(r, "edition"), r.URL.Query().Get("session"), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(p.Problems) > 0 {
		s.fail(w, r, &ValidationError{Fields: p.Problems})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, p)
}

// failBackOffice maps the back office's own errors; the rest go to fail.
func (s *Service) failBackOffice(w http.ResponseWriter, r *http.Request, err error) bool {
	var stale *StaleError
	switch {
	case errors.As(err, &stale):
		problem(w, r, http.StatusConflict, "edition-changed", "The edition changed",
			"The edition changed after the preview was made; preview the change again.")
	case errors.Is(err, ErrInviteNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such invite code in this edition.")
	case errors.Is(err, ErrTrackExists):
		problem(w, r, http.StatusConflict, "track-exists", "Track exists", "A track with this id exists already in this edition.")
	default:
		return false
	}
	return true
}
