package identity

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// StaffRoles are the roles organisers grant and revoke, in the order the
// staff page shows them.
var StaffRoles = []string{auth.RoleReviewer, auth.RoleJudge, auth.RoleGate, auth.RoleOrganizer}

// changeRoleOf grants (or revokes) a role of the account with this id, as
// the staff page and the API do; the actor in wi is recorded for the
// audit, never shown on the person's timeline. It reports whether anything
// changed and the position of the event written.
func (s *Service) changeRoleOf(ctx context.Context, id, role string, grant bool, wi writeInfo) (User, bool, events.Position, error) {
	if err := checkGrantable(role); err != nil {
		return User{}, false, events.Start, err
	}
	decide := User.revokeRole
	if grant {
		decide = User.grantRole
	}
	for range maxAttempts {
		u, rev, err := loadUser(ctx, s.store, id)
		if err != nil {
			return User{}, false, events.Start, err
		}
		evs, err := decide(u, role)
		if err != nil || len(evs) == 0 {
			return u, false, events.Start, err
		}
		res, err := appendPayloads(ctx, s.store, events.UserStream(u.ID), rev, u.ID, wi, s.now(), evs...)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return User{}, false, events.Start, err
		}
		for _, e := range evs {
			u.apply(e)
		}
		return u, true, res.Position, nil
	}
	return User{}, false, events.Start, fmt.Errorf("change role: still contended after %d attempts", maxAttempts)
}

// Person is an account as organisers see it on the staff page: whom they
// are granting a role to needs the address they know the person by.
type Person struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Roles       []string `json:"roles"`
}

func personOf(u User) Person {
	return Person{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email, Roles: slices.Clone(u.Roles)}
}

// roleKinds are the identity events of the roles audit.
var roleKinds = map[string]string{"identity.RoleGranted": "role_granted", "identity.RoleRevoked": "role_revoked"}

// RoleAudit is every role grant and revocation in the log, oldest first,
// with who made it.
func (s *Service) RoleAudit(ctx context.Context) ([]audit.Entry, error) {
	return audit.Read(ctx, s.store, audit.Source{Prefixes: []string{events.CategoryUser + "-"}},
		audit.Selector{Kinds: roleKinds}, audit.LogNames(s.store))
}

// maxPeopleFound bounds a search of the staff page and the API.
const maxPeopleFound = 50

func roleInPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	role := chi.URLParam(r, "role")
	if !slices.Contains(StaffRoles, role) {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "role",
			Message: "must be reviewer, judge, gate or organizer; every account is a member"}))
		return "", false
	}
	return role, true
}

func (s *Service) handleRole(grant bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		role, ok := roleInPath(w, r)
		if !ok {
			return
		}
		wi, ok := writeInfoFrom(w, r)
		if !ok {
			return
		}
		u, _, pos, err := s.changeRoleOf(r.Context(), chi.URLParam(r, "id"), role, grant, wi)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if pos != events.Start {
			s.timelineCaughtUp(r.Context(), pos)
		}
		httpserver.WriteJSON(w, http.StatusOK, personOf(u))
	}
}

func (s *Service) handleFindPeople(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		s.fail(w, r, &ValidationError{Fields: []FieldError{{Field: "q", Message: "is required: an email address or a part of a name"}}})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"users": s.timeline.findPeople(q, maxPeopleFound)})
}
