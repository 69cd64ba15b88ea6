package notify

import (
	"context"
	"math"
	"net/http"
	"slices"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// PersonalData is the notifier's part of a person's own copy of their
// data (identity's GET /api/identity/me/export): every registration,
// application, team with its submission and post the person owns, each
// with its owner timeline, all their notifications and their email
// choices; one entry per file of the copy.
func (s *Service) PersonalData(_ context.Context, user, lang string) map[string]any {
	o := s.overview(user, lang, math.MaxInt)
	m := s.model
	m.mu.RLock()
	var off []string
	if p := m.people[user]; p != nil {
		for k, v := range p.off {
			if v {
				off = append(off, k)
			}
		}
	}
	m.mu.RUnlock()
	slices.Sort(off)
	return map[string]any{
		"registrations.json":         o.Registrations,
		"applications.json":          o.Applications,
		"teams-and-submissions.json": o.Teams,
		"posts.json":                 o.Posts,
		"notifications.json":         o.Notifications,
		"email-preferences.json":     map[string]any{"email_verified": o.EmailVerified, "email_off_for_kinds": off},
	}
}

// handleExport is GET /api/notify/export: the same part as JSON, for a
// deployment where identity runs in another process.
func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, s.PersonalData(r.Context(), user, s.apiLang(r, user)))
}
