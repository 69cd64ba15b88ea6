package conference

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// ErrNoFeed: the member has no calendar subscription URL (never issued,
// or revoked).
var ErrNoFeed = errors.New("no calendar feed")

// feedTokenPattern is what newFeedToken makes: anything else is not
// looked up at all.
var feedTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// newFeedToken is the secret of a subscription URL: 32 random bytes, as
// many as an access key, since the URL alone opens the member's programme.
func newFeedToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return a short read)
	return base64.RawURLEncoding.EncodeToString(b)
}

func feedPath(token string) string { return "/conference/calendar/" + token + ".ics" }

// feedState is a member's feed stream folded: the live token, if any, and
// the revision a change must be appended at.
type feedState struct {
	token string
	rev   events.ExpectedRevision
}

func (s *Service) loadFeed(ctx context.Context, member string) (feedState, error) {
	st := feedState{rev: events.NoStream}
	evs, err := s.store.ReadStream(ctx, events.CalendarFeedStream(member), events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	for _, e := range evs {
		st.rev = events.Exact(e.Revision)
		p, err := events.Types.Decode(e)
		if errors.Is(err, events.ErrUnknownType) {
			continue
		}
		if err != nil {
			return st, err
		}
		switch v := p.(type) {
		case events.CalendarFeedIssued:
			st.token = v.Personal.Token
		case events.CalendarFeedRevoked:
			st.token = ""
		}
	}
	return st, nil
}

// FeedToken is the member's live subscription token, or ErrNoFeed.
func (s *Service) FeedToken(ctx context.Context, member string) (string, error) {
	st, err := s.loadFeed(ctx, member)
	if err != nil {
		return "", err
	}
	if st.token == "" {
		return "", ErrNoFeed
	}
	return st.token, nil
}

// IssueFeed gives the member a new subscription token; the one they had
// stops working.
func (s *Service) IssueFeed(ctx context.Context, m events.Metadata, member string) (string, error) {
	token := newFeedToken()
	err := s.changeFeed(ctx, m, member, func(feedState) any {
		return events.CalendarFeedIssued{MemberID: member, Personal: events.CalendarFeedPersonal{Token: token}}
	})
	return token, err
}

// RevokeFeed ends the member's subscription URL; without one it does
// nothing.
func (s *Service) RevokeFeed(ctx context.Context, m events.Metadata, member string) error {
	return s.changeFeed(ctx, m, member, func(st feedState) any {
		if st.token == "" {
			return nil
		}
		return events.CalendarFeedRevoked{MemberID: member}
	})
}

// changeFeed appends what decide makes of the member's feed at the
// revision it was decided on, deciding again if another request got
// there first, and then waits for the read model that serves the URLs,
// so that the answer (a new URL working, an old one refused) is true
// when the member reads it.
func (s *Service) changeFeed(ctx context.Context, m events.Metadata, member string, decide func(feedState) any) error {
	if member == "" {
		return ErrNoFeed
	}
	m.Subject = member // the token is the member's personal data
	m.Visibility = events.Owner
	for range 5 {
		st, err := s.loadFeed(ctx, member)
		if err != nil {
			return err
		}
		p := decide(st)
		if p == nil {
			return nil
		}
		m.OccurredAt = s.now().UTC()
		ev, err := events.Types.New(p, m)
		if err != nil {
			return err
		}
		res, err := s.store.Append(ctx, events.CalendarFeedStream(member), st.rev, ev)
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			continue
		}
		if err != nil {
			return err
		}
		if s.feedWait != nil {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s.feedWait(wctx, res.Position)
			cancel()
		}
		return nil
	}
	return fmt.Errorf("calendar feed of %s: still contended", member)
}

// baseURL is the site's address for the subscription URL, which calendar
// apps need absolute: the configured public URL, else the request's host.
func (s *Service) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if u, err := url.Parse("http://" + host); err != nil || u.Host != host {
		host = "localhost"
	}
	return scheme + "://" + host
}

// feedURL is the subscription URL of token.
func (s *Service) feedURL(r *http.Request, token string) string {
	return s.baseURL(r) + feedPath(token)
}

func (s *Service) mountCalendar(r chi.Router) {
	member := auth.RequireRole(auth.RoleMember)
	r.With(member).Post("/calendar-feed", s.handleIssueFeed)
	r.With(member).Get("/calendar-feed", s.handleGetFeed)
	r.With(member).Delete("/calendar-feed", s.handleRevokeFeed)
}

type feedResponse struct {
	URL string `json:"url"`
}

func (s *Service) handleIssueFeed(w http.ResponseWriter, r *http.Request) {
	token, err := s.IssueFeed(r.Context(), meta(r), principal(r).UserID)
	if err != nil {
		s.failFeed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusCreated, feedResponse{URL: s.feedURL(r, token)})
}

func (s *Service) handleGetFeed(w http.ResponseWriter, r *http.Request) {
	token, err := s.FeedToken(r.Context(), principal(r).UserID)
	if err != nil {
		s.failFeed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, feedResponse{URL: s.feedURL(r, token)})
}

func (s *Service) handleRevokeFeed(w http.ResponseWriter, r *http.Request) {
	if err := s.RevokeFeed(r.Context(), meta(r), principal(r).UserID); err != nil {
		s.failFeed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) failFeed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoFeed) {
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "You have no calendar subscription URL; create one with POST.")
		return
	}
	s.fail(w, r, err)
}

// handleRegistrationCalendar answers the owner's calendar file of one
// registration; anyone else's is not found, like the registration itself.
func (s *Service) handleRegistrationCalendar(w http.ResponseWriter, r *http.Request) {
	lang := calendarLangOf(r.URL.Query().Get("lang"))
	v, ok := s.owned(w, r, false, func(ed *Edition, reg *Registration, _ time.Time, _ emit) (any, error) {
		return renderCalendar(registrationCalendarName(lang, ed), calendarEntries(ed, reg, lang)), nil
	})
	if ok {
		edition, _ := editionOf(chi.URLParam(r, "id"))
		writeCalendar(w, r, v.([]byte), "no-store", edition)
	}
}

// writeCalendar sends a calendar file; name is the file name offered to
// a browser that saves it.
func writeCalendar(w http.ResponseWriter, _ *http.Request, body []byte, cache, name string) {
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.ics"`)
	w.Write(body)
}
