package notify

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

const maxBodyBytes = 16 << 10

// Mount adds the JSON API under /api/notify/.
func (s *Service) Mount(r chi.Router) {
	r.Route("/api/notify", func(r chi.Router) {
		httpserver.APIFallbacks(r, "notify")
		r.Use(web.Protect, s.cfg.Verifier.Middleware, httpserver.LimitBody(maxBodyBytes))
		r.Group(func(r chi.Router) {
			r.Use(auth.RequireUser)
			r.Get("/inbox", s.handleInbox)
			r.Post("/inbox/read", s.handleReadAll)
			r.Post("/inbox/{id}/read", s.handleRead)
			r.Get("/preferences", s.handlePrefs)
			r.Put("/preferences", s.handleSetPrefs)
			r.Get("/overview", s.handleOverview)
			r.Get("/export", s.handleExport)
		})
		r.With(auth.RequireRole(auth.RoleOrganizer)).Get("/mail", s.handleMailReport)
	})
}

func userOf(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	return p.UserID
}

// apiLang is the language of titles in answers: ?lang= when given, else
// the person's own choice.
func (s *Service) apiLang(r *http.Request, user string) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "en", "zh-CN":
		return l
	}
	return s.langFor(user)
}

func (s *Service) handleInbox(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "limit", Message: "must be a whole number from 1 to 200"}))
			return
		}
		limit = n
	}
	items, unread, next := s.inboxPage(user, s.apiLang(r, user), r.URL.Query().Get("before"), limit)
	out := map[string]any{"items": items, "unread": unread}
	if next != "" {
		out["next"] = next
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleRead(w http.ResponseWriter, r *http.Request) {
	user, id := userOf(r), chi.URLParam(r, "id")
	if !s.hasNote(user, id) {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.TypeNotFound, "Not found", "Your inbox has no notification with that id."))
		return
	}
	if err := s.markRead(r.Context(), r, user, events.NotificationsRead{UserID: user, IDs: []string{id}}); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleReadAll(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	if err := s.markRead(r.Context(), r, user, events.NotificationsRead{UserID: user, All: true}); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// markRead records what was read and waits until the inbox shows it.
func (s *Service) markRead(ctx context.Context, r *http.Request, user string, ev events.NotificationsRead) error {
	p, err := events.Types.New(ev, events.Metadata{Actor: user, RequestID: httpserver.RequestID(ctx), Visibility: events.Owner})
	if err != nil {
		return err
	}
	res, err := s.store.Append(ctx, events.InboxStream(user), events.Any, p)
	if err != nil {
		return err
	}
	s.caughtUp(ctx, res.Position)
	return nil
}

func (s *Service) handlePrefs(w http.ResponseWriter, r *http.Request) {
	prefs, verified, _ := s.prefs(userOf(r))
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"kinds": prefs, "email_verified": verified, "email_enabled": s.mailOn()})
}

type prefsInput struct {
	Email map[string]bool `json:"email"`
}

func (s *Service) handleSetPrefs(w http.ResponseWriter, r *http.Request) {
	var in prefsInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	var errs []httpserver.FieldError
	for k := range in.Email {
		info, ok := kindOf(k)
		switch {
		case !ok && k != "*":
			errs = append(errs, httpserver.FieldError{Field: "email." + k, Message: "is not a kind of notification"})
		case ok && !info.Optional:
			errs = append(errs, httpserver.FieldError{Field: "email." + k, Message: "cannot be turned off: it is the message that checks your address"})
		}
	}
	if len(in.Email) == 0 {
		errs = append(errs, httpserver.FieldError{Field: "email", Message: "name at least one kind, with true (email) or false (inbox only)"})
	}
	if len(errs) > 0 {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(errs...))
		return
	}
	user := userOf(r)
	if err := s.setPrefs(r.Context(), user, in.Email, "preferences"); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	s.handlePrefs(w, r)
}

// setPrefs records the changes that change something, in one append.
func (s *Service) setPrefs(ctx context.Context, user string, email map[string]bool, via string) error {
	current, _, _ := s.prefs(user)
	on := map[string]bool{}
	for _, p := range current {
		on[p.Kind] = p.Email
	}
	var evs []events.Proposed
	add := func(kind string, v bool) error {
		p, err := events.Types.New(events.EmailPreferenceSet{UserID: user, Kind: kind, Email: v, Via: via},
			events.Metadata{Actor: user, RequestID: httpserver.RequestID(ctx), Visibility: events.Owner})
		if err != nil {
			return err
		}
		evs = append(evs, p)
		return nil
	}
	if v, ok := email["*"]; ok {
		if err := add("*", v); err != nil {
			return err
		}
		for k := range on {
			on[k] = v
		}
	}
	for _, k := range kinds {
		if v, ok := email[k.Kind]; ok && k.Optional && on[k.Kind] != v {
			if err := add(k.Kind, v); err != nil {
				return err
			}
		}
	}
	if len(evs) == 0 {
		return nil
	}
	res, err := s.store.Append(ctx, events.MailPrefsStream(user), events.Any, evs...)
	if err != nil {
		return err
	}
	s.caughtUp(ctx, res.Position)
	return nil
}

func (s *Service) handleOverview(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	httpserver.WriteJSON(w, http.StatusOK, s.overview(user, s.apiLang(r, user), 20))
}

func (s *Service) handleMailReport(w http.ResponseWriter, r *http.Request) {
	failed, sent, pending := s.mailReport(200)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"enabled": s.mailOn(), "sent": sent, "pending": pending, "failed": failed})
}
