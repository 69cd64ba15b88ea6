package alliance

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// maxBodyBytes bounds JSON bodies: a full application is far below it.
const maxBodyBytes = 64 << 10

// Routes returns the API as a handler of its own.
func (s *Service) Routes() http.Handler {
	r := chi.NewRouter()
	s.Mount(r)
	return r
}

// Mount adds the JSON API under /api/alliance/.
func (s *Service) Mount(r chi.Router) {
	r.Route("/api/alliance", func(r chi.Router) {
		httpserver.APIFallbacks(r, "alliance")
		r.Use(web.Protect, s.cfg.Verifier.Middleware)
		// Logos are the one body bigger than JSON; they get their own limit.
		r.With(auth.RequireUser, httpserver.LimitBody(s.cfg.MaxLogoBytes+1024)).Post("/logos", s.handleUploadLogo)
		r.Get("/logos/{name}", s.handleLogo)
		r.Group(func(r chi.Router) {
			r.Use(httpserver.LimitBody(maxBodyBytes))
			staff := auth.RequireRole(auth.RoleReviewer, auth.RoleOrganizer)
			organizer := auth.RequireRole(auth.RoleOrganizer)
			r.Get("/policy", s.handlePolicy)
			r.With(organizer).Put("/policy", s.handleSetPolicy)
			r.Get("/members", s.handleMembers)
			r.Get("/members/{id}", s.handleMember)
			r.Get("/members/{id}/history", s.handleMemberHistory)
			r.Get("/wall", s.handleWall)
			r.With(staff).Get("/applications", s.handleQueue)
			r.With(staff).Post("/applications/{id}/votes", s.handleVote)
			r.With(organizer).Post("/applications/{id}/decision", s.handleDecide)
			r.With(organizer).Post("/members/{id}/lapse", s.handleLapse)
			r.With(organizer).Post("/members/{id}/reinstate", s.handleReinstate)
			r.With(organizer).Put("/members/{id}/tier", s.handleTier)
			r.Group(func(r chi.Router) {
				r.Use(auth.RequireUser)
				r.Post("/applications", s.handleCreate)
				r.Get("/me/applications", s.handleMine)
				r.Get("/applications/{id}", s.handleApplication)
				r.Patch("/applications/{id}", s.handleEdit)
				r.Post("/applications/{id}/submit", s.handleSubmit)
				r.Post("/applications/{id}/withdraw", s.handleWithdraw)
				r.Get("/applications/{id}/timeline", s.handleTimeline)
				r.Patch("/members/{id}", s.handleUpdateMember)
				r.Post("/members/{id}/withdraw", s.handleWithdrawMember)
			})
		})
	})
}

// whoOf is the caller as decisions see them.
func whoOf(r *http.Request) Who {
	p, _ := auth.FromContext(r.Context())
	return Who{UserID: p.UserID, Name: p.DisplayName, Reviewer: p.HasRole(auth.RoleReviewer),
		Organizer: p.HasRole(auth.RoleOrganizer), RequestID: httpserver.RequestID(r.Context())}
}

// applicationInput is the body of create and edit.
type applicationInput struct {
	NameZH      string `json:"name_zh"`
	NameEN      string `json:"name_en"`
	Website     string `json:"website"`
	City        string `json:"city"`
	Industry    string `json:"industry"`
	FoundedYear int    `json:"founded_year"`
	TeamSize    int    `json:"team_size"`
	Description string `json:"description"`
	Logo        string `json:"logo"`
	Contact     struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Phone string `json:"phone"`
	} `json:"contact"`
	// Submit submits the application in the same request.
	Submit bool `json:"submit"`
}

func (in applicationInput) profile() events.StartupProfile {
	return events.StartupProfile{NameZH: in.NameZH, NameEN: in.NameEN, Website: in.Website, City: in.City, Industry: in.Industry,
		FoundedYear: in.FoundedYear, TeamSize: in.TeamSize, Description: in.Description, Logo: in.Logo}
}

func (in applicationInput) contact() events.ApplicantContact {
	return events.ApplicantContact{Name: in.Contact.Name, Email: in.Contact.Email, Phone: in.Contact.Phone}
}

// applicationJSON is an application as its applicant and staff see it.
type applicationJSON struct {
	ID          string                  `json:"id"`
	Status      string                  `json:"status"`
	Round       int                     `json:"round"`
	NameZH      string                  `json:"name_zh,omitempty"`
	NameEN      string                  `json:"name_en,omitempty"`
	Website     string                  `json:"website,omitempty"`
	City        string                  `json:"city,omitempty"`
	Industry    string                  `json:"industry,omitempty"`
	FoundedYear int                     `json:"founded_year,omitempty"`
	TeamSize    int                     `json:"team_size,omitempty"`
	Description string                  `json:"description,omitempty"`
	Logo        string                  `json:"logo,omitempty"`
	Contact     events.ApplicantContact `json:"contact"`
	Editable    bool                    `json:"editable"`
	MemberID    string                  `json:"member_id,omitempty"`
	Reason      string                  `json:"reason,omitempty"`
	Created     time.Time               `json:"created"`
	Updated     time.Time               `json:"updated"`
	// Votes of the current round, for staff only.
	Votes []voteJSON `json:"votes,omitempty"`
}

type voteJSON struct {
	Reviewer     string `json:"reviewer"`
	ReviewerName string `json:"reviewer_name,omitempty"`
	Vote         string `json:"vote"`
	Comment      string `json:"comment,omitempty"`
}

// appJSON answers an application as the API shows it, without what it
// read of erased accounts.
func (s *Service) appJSON(a *Application, who Who) applicationJSON {
	s.forgetErased(a)
	return toJSON(a, who)
}

func toJSON(a *Application, who Who) applicationJSON {
	p := a.Profile
	out := applicationJSON{ID: a.ID, Status: a.Status, Round: a.Round, NameZH: p.NameZH, NameEN: p.NameEN, Website: p.Website,
		City: p.City, Industry: p.Industry, FoundedYear: p.FoundedYear, TeamSize: p.TeamSize, Description: p.Description,
		Logo: p.Logo, Contact: a.Contact, MemberID: a.MemberID, Reason: a.Reason, Created: a.Created, Updated: a.Updated,
		Editable: who.UserID == a.Applicant && (a.Status == StatusDraft || a.Status == StatusChangesRequested)}
	if who.staff() && who.UserID != a.Applicant {
		for _, v := range a.Votes {
			out.Votes = append(out.Votes, voteJSON{Reviewer: v.Reviewer, ReviewerName: v.ReviewerName, Vote: v.Vote, Comment: v.Comment})
		}
	}
	return out
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in applicationInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 255 {
		problem(w, r, http.StatusBadRequest, "bad-request", "Invalid Idempotency-Key", "The Idempotency-Key header must be at most 255 characters.")
		return
	}
	who := whoOf(r)
	if key != "" {
		key = "alliance\x00application\x00" + who.UserID + "\x00" + key
	}
	id, err := s.CreateApplication(r.Context(), who, in.profile(), in.contact(), key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var a *Application
	if in.Submit {
		a, err = s.SubmitApplication(r.Context(), who, id)
	} else {
		a, err = s.Application(r.Context(), who, id)
	}
	if err != nil {
		// The draft is saved; the answer says why it was not submitted.
		w.Header().Set("Location", "/api/alliance/applications/"+id)
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/alliance/applications/"+id)
	httpserver.WriteJSON(w, http.StatusCreated, s.appJSON(a, who))
}

func (s *Service) handleMine(w http.ResponseWriter, r *http.Request) {
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"applications": s.view.myApplications(whoOf(r).UserID)})
}

func (s *Service) handleQueue(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", StatusSubmitted, StatusChangesRequested, StatusApproved, StatusRejected, StatusWithdrawn:
	default:
		s.fail(w, r, &ValidationError{Fields: []FieldError{{Field: "status", Code: "status", Message: "must be submitted, changes_requested, approved, rejected or withdrawn"}}})
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"applications": s.view.queue(whoOf(r).UserID, status)})
}

func (s *Service) handleApplication(w http.ResponseWriter, r *http.Request) {
	who := whoOf(r)
	a, err := s.Application(r.Context(), who, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

func (s *Service) handleEdit(w http.ResponseWriter, r *http.Request) {
	var in applicationInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	who := whoOf(r)
	a, err := s.EditApplication(r.Context(), who, chi.URLParam(r, "id"), in.profile(), in.contact())
	if err == nil && in.Submit {
		a, err = s.SubmitApplication(r.Context(), who, a.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) {
	who := whoOf(r)
	a, err := s.SubmitApplication(r.Context(), who, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

func (s *Service) handleWithdraw(w http.ResponseWriter, r *http.Request) {
	who := whoOf(r)
	a, err := s.WithdrawApplication(r.Context(), who, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

func (s *Service) handleTimeline(w http.ResponseWriter, r *http.Request) {
	who := whoOf(r)
	a, err := s.Application(r.Context(), who, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The applicant gets the redacted view even when they are staff too:
	// reviewers do not see the notes on their own application.
	staff := who.staff() && a.Applicant != who.UserID
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"entries": s.view.timeline(a.ID, staff)})
}

type voteInput struct {
	Vote    string `json:"vote"`
	Comment string `json:"comment"`
	Note    string `json:"note"`
}

func (s *Service) handleVote(w http.ResponseWriter, r *http.Request) {
	var in voteInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	who := whoOf(r)
	a, err := s.VoteOnApplication(r.Context(), who, chi.URLParam(r, "id"), Vote{Vote: in.Vote, Comment: in.Comment, Note: in.Note})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

type decisionInput struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

func (s *Service) handleDecide(w http.ResponseWriter, r *http.Request) {
	var in decisionInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	who := whoOf(r)
	a, err := s.DecideApplication(r.Context(), who, chi.URLParam(r, "id"), Decision{Outcome: in.Decision, Comment: in.Comment})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.appJSON(a, who))
}

func (s *Service) handlePolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.Policy(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleSetPolicy(w http.ResponseWriter, r *http.Request) {
	var in events.DecisionPolicy
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.SetPolicy(r.Context(), whoOf(r), in); err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, in)
}

func (s *Service) handleUploadLogo(w http.ResponseWriter, r *http.Request) {
	name, err := s.UploadLogo(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/alliance/logos/"+name)
	httpserver.WriteJSON(w, http.StatusCreated, map[string]string{"logo": name, "url": "/api/alliance/logos/" + name})
}

func (s *Service) handleLogo(w http.ResponseWriter, r *http.Request) {
	f, ctype, err := s.logos.open(chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", ctype)
	// The name is the content's hash: it never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	io.Copy(w, f)
}

// listParams reads limit and offset.
func listParams(r *http.Request) (limit, offset int, err error) {
	limit, offset = 50, 0
	var errs fieldErrors
	if v := r.URL.Query().Get("limit"); v != "" {
		if n, e := strconv.Atoi(v); e != nil || n < 1 || n > 200 {
			errs.add("limit", "limit", "must be a whole number from 1 to 200")
		} else {
			limit = n
		}
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		if n, e := strconv.Atoi(v); e != nil || n < 0 {
			errs.add("offset", "offset", "must be a whole number, 0 or more")
		} else {
			offset = n
		}
	}
	return limit, offset, errs.err()
}

func filterOf(r *http.Request) MemberFilter {
	q := r.URL.Query()
	return MemberFilter{City: q.Get("city"), Industry: q.Get("industry"), Tier: q.Get("tier"), Query: q.Get("q")}
}

type memberPage struct {
	Members []MemberProfile `json:"members"`
	Total   int             `json:"total"`
	Limit   int             `json:"limit"`
	Offset  int             `json:"offset"`
	At      string          `json:"at,omitempty"`
}

func (s *Service) handleMembers(w http.ResponseWriter, r *http.Request) {
	limit, offset, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all := s.view.wall("", filterOf(r))
	httpserver.WriteJSON(w, http.StatusOK, memberPage{Members: window(all, offset, limit), Total: len(all), Limit: limit, Offset: offset})
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return []T{}
	}
	return all[offset:min(len(all), offset+limit)]
}

// parseDay reads a wall date; "" is today.
func parseDay(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", &ValidationError{Fields: []FieldError{{Field: "at", Code: "date", Message: "must be a date like 2013-10-24"}}}
	}
	return v, nil
}

func (s *Service) handleWall(w http.ResponseWriter, r *http.Request) {
	at, err := parseDay(r.URL.Query().Get("at"))
	if err == nil {
		var limit, offset int
		if limit, offset, err = listParams(r); err == nil {
			all := s.view.wall(at, MemberFilter{})
			httpserver.WriteJSON(w, http.StatusOK, memberPage{Members: window(all, offset, limit), Total: len(all), Limit: limit, Offset: offset, At: at})
			return
		}
	}
	s.fail(w, r, err)
}

func (s *Service) handleMember(w http.ResponseWriter, r *http.Request) {
	p, _, status, ok := s.view.member(chi.URLParam(r, "id"))
	if !ok || status == MemberWithdrawn {
		s.fail(w, r, ErrNotFound)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleMemberHistory(w http.ResponseWriter, r *http.Request) {
	_, h, status, ok := s.view.member(chi.URLParam(r, "id"))
	if !ok || status != MemberActive {
		s.fail(w, r, ErrNotFound)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"entries": h})
}

type memberInput struct {
	NameZH      string `json:"name_zh"`
	NameEN      string `json:"name_en"`
	Website     string `json:"website"`
	City        string `json:"city"`
	Industry    string `json:"industry"`
	FoundedYear int    `json:"founded_year"`
	TeamSize    int    `json:"team_size"`
	Description string `json:"description"`
	Logo        string `json:"logo"`
}

func (s *Service) handleUpdateMember(w http.ResponseWriter, r *http.Request) {
	var in memberInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	m, err := s.UpdateMemberProfile(r.Context(), whoOf(r), chi.URLParam(r, "id"), events.StartupProfile(in))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, _, _, _ := s.view.member(m.ID)
	httpserver.WriteJSON(w, http.StatusOK, p)
}

type endInput struct {
	Reason string `json:"reason"`
}

func (s *Service) endMembership(w http.ResponseWriter, r *http.Request, lapse bool) {
	var in endInput
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &in) {
		return
	}
	if _, err := s.EndMembership(r.Context(), whoOf(r), chi.URLParam(r, "id"), lapse, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleLapse(w http.ResponseWriter, r *http.Request) { s.endMembership(w, r, true) }

func (s *Service) handleReinstate(w http.ResponseWriter, r *http.Request) {
	var in endInput
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &in) {
		return
	}
	m, err := s.ReinstateMembership(r.Context(), whoOf(r), chi.URLParam(r, "id"), in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, _, _, _ := s.view.member(m.ID)
	httpserver.WriteJSON(w, http.StatusOK, p)
}

type tierInput struct {
	Tier string `json:"tier"`
}

func (s *Service) handleTier(w http.ResponseWriter, r *http.Request) {
	var in tierInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	m, err := s.ChangeTier(r.Context(), whoOf(r), chi.URLParam(r, "id"), in.Tier)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, _, _, _ := s.view.member(m.ID)
	httpserver.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleWithdrawMember(w http.ResponseWriter, r *http.Request) {
	s.endMembership(w, r, false)
}

func problem(w http.ResponseWriter, r *http.Request, status int, typ, title, detail string) {
	httpserver.WriteProblem(w, r, httpserver.NewProblem(status, httpserver.ProblemBase+typ, title, detail))
}

// fail classifies an error once, at the edge.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *ValidationError
	var dup *DuplicateError
	switch {
	case errors.As(err, &invalid):
		fields := make([]httpserver.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = httpserver.FieldError{Field: f.Field, Message: f.Message}
		}
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
	case errors.As(err, &dup):
		p := httpserver.NewProblem(http.StatusConflict, httpserver.ProblemBase+"startup-has-open-application", "Open application exists",
			"An application for "+dup.Name+" is already before the reviewers; a second one is not taken while it is open.")
		switch {
		case dup.MemberID != "":
			p.Type = httpserver.ProblemBase + "startup-is-member"
			p.Title = "Already a member"
			p.Detail = dup.Name + " is already a member of the alliance; its owner can update the profile instead."
			p.Instance = "/api/alliance/members/" + dup.MemberID
		case dup.Mine:
			p.Detail = "You already have an open application for " + dup.Name + "; continue with it instead."
			p.Instance = "/api/alliance/applications/" + dup.ApplicationID
		}
		if p.Instance != "" {
			w.Header().Set("Location", p.Instance)
		}
		httpserver.WriteProblem(w, r, p)
	case errors.Is(err, ErrNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such application or member, or it is not yours to see.")
	case errors.Is(err, ErrOwnApplication):
		problem(w, r, http.StatusForbidden, "own-application", "Your own application", "Reviewers cannot vote on or decide their own application.")
	case errors.Is(err, ErrNotYours):
		problem(w, r, http.StatusForbidden, "forbidden", "Not yours", "Only the owner or an organiser may do this.")
	case errors.Is(err, ErrNotEditable):
		problem(w, r, http.StatusConflict, "application-not-editable", "Not editable",
			"A submitted application cannot be edited until the reviewers ask for changes.")
	case errors.Is(err, ErrNotSubmittable):
		problem(w, r, http.StatusConflict, "application-not-submittable", "Cannot submit", "Only a draft, or an application returned for changes, can be submitted.")
	case errors.Is(err, ErrClosed):
		problem(w, r, http.StatusConflict, "application-closed", "Application closed",
			"The application has been decided or withdrawn; votes and decisions are no longer taken.")
	case errors.Is(err, ErrNotUnderReview):
		problem(w, r, http.StatusConflict, "application-not-under-review", "Not under review", "The application is not before the reviewers now.")
	case errors.Is(err, ErrAlreadyVoted):
		problem(w, r, http.StatusConflict, "already-voted", "Already voted", "You have voted in this round already.")
	case errors.Is(err, ErrMemberGone):
		problem(w, r, http.StatusConflict, "membership-ended", "Membership ended", "The membership has ended.")
	case errors.Is(err, ErrLogoTooLarge), httpserver.IsTooLarge(err):
		problem(w, r, http.StatusRequestEntityTooLarge, "logo-too-large", "Logo too large",
			"A logo may be at most "+strconv.FormatInt(s.cfg.MaxLogoBytes>>10, 10)+" KiB.")
	case errors.Is(err, ErrLogoNotImage):
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "logo",
			Message: "must be a PNG, JPEG, GIF or WebP image of at most 4096×4096 pixels"}))
	default:
		httpserver.WriteError(w, r, s.log, err)
	}
}

func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := httpserver.DecodeJSON(r, dst); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return false
	}
	return true
}
