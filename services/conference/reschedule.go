package conference

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// RescheduleSession moves a session to another time or room. Its seats
// and waitlist stay with it: the people holding them are told through
// their timelines and calendars, which keep the session's entry and raise
// its SEQUENCE.
type RescheduleSession struct {
	ID               string
	StartsAt, EndsAt time.Time
	Room             *string // nil keeps the room
}

func (ed *Edition) rescheduleSession(c RescheduleSession, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	s := ed.Sessions[c.ID]
	if s == nil {
		return ErrSessionNotFound
	}
	var errs fieldErrors
	room := s.Room
	if c.Room != nil {
		room = strings.TrimSpace(*c.Room)
		checkText(&errs, "room", room, maxNameLength)
	}
	switch {
	case c.StartsAt.IsZero():
		errs.add("starts_at", "is required (RFC 3339 time)")
	case c.EndsAt.IsZero():
		errs.add("ends_at", "is required (RFC 3339 time)")
	case !c.EndsAt.After(c.StartsAt):
		errs.add("ends_at", "must be after starts_at")
	default:
		if field, msg := ed.outsideDates(c.StartsAt, c.EndsAt); field != "" {
			errs.add(field, "%s", msg)
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	start, end := c.StartsAt.UTC(), c.EndsAt.UTC()
	if start.Equal(s.StartsAt) && end.Equal(s.EndsAt) && room == s.Room {
		return nil // nothing moves, so no calendar needs to hear of it
	}
	emit(events.SessionRescheduled{EditionID: ed.ID, SessionID: s.ID, StartsAt: start, EndsAt: end, Room: room})
	return nil
}

type rescheduleInput struct {
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Room     *string   `json:"room"`
}

func (s *Service) handleRescheduleSession(w http.ResponseWriter, r *http.Request) {
	var in rescheduleInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c := RescheduleSession{ID: chi.URLParam(r, "session"), StartsAt: in.StartsAt, EndsAt: in.EndsAt, Room: in.Room}
	v, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), idKey(r, "reschedule"), func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if err := ed.rescheduleSession(c, emit); err != nil {
			return nil, err
		}
		for _, sc := range ed.Counts().Sessions {
			if sc.ID == c.ID {
				return sc, nil
			}
		}
		return nil, ErrSessionNotFound
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}
