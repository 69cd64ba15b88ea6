package identity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// Routes returns the service's HTTP handler: the JSON API under
// /api/identity/ and the key set at /.well-known/jwks.json.
func (s *Service) Routes() http.Handler {
	r := chi.NewRouter()
	s.Mount(r)
	return r
}

// Mount adds the service's routes to r.
func (s *Service) Mount(r chi.Router) {
	r.Get("/.well-known/jwks.json", s.handleJWKS)
	r.Route("/api/identity", func(r chi.Router) {
		httpserver.APIFallbacks(r, "identity")
		// Browsers send the refresh cookie to the API too, so a request a
		// browser marks as coming from another site may not change anything.
		r.Use(web.Protect, httpserver.LimitBody(maxBodyBytes))
		r.With(s.limits.signUpPerAddress).Post("/users", s.handleSignUp)
		r.With(s.limits.logInPerAddress).Post("/tokens", s.handleLogIn)
		r.Delete("/tokens", s.handleLogOut)
		r.Post("/tokens/refresh", s.handleRefresh)
		r.Get("/people/{id}", s.handlePerson)
		r.Group(func(r chi.Router) {
			r.Use(s.verifier.Middleware, auth.RequireUser)
			r.Get("/me", s.handleMe)
			r.Delete("/me", s.handleEraseMe)
			r.Get("/me/export", s.handleExport)
			r.Get("/me/profile", s.handleGetProfile)
			r.Put("/me/profile", s.handlePutProfile)
			r.Get("/me/timeline", s.handleTimeline)
			r.Put("/me/language", s.handlePutLanguage)
			r.Put("/me/email", s.handlePutEmail)
			r.Post("/me/email/verification", s.handleResendVerification)
			organizer := auth.RequireRole(auth.RoleOrganizer)
			r.With(organizer).Get("/users", s.handleFindPeople)
			r.With(organizer).Put("/users/{id}/roles/{role}", s.handleRole(true))
			r.With(organizer).Delete("/users/{id}/roles/{role}", s.handleRole(false))
		})
	})
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	// Short enough that caches in front of verifiers pick up a rotation
	// quickly; verifiers also refetch on an unknown kid.
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpserver.WriteJSON(w, http.StatusOK, s.keys.jwks())
}

func (s *Service) handleSignUp(w http.ResponseWriter, r *http.Request) {
	var in signUpInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.Lang == "" {
		in.Lang = langFromAcceptLanguage(r)
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	id, err := s.signUp(r.Context(), in, wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
}

type logInInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// tokenResponse follows OAuth 2.0's token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (s *Service) handleLogIn(w http.ResponseWriter, r *http.Request) {
	var in logInInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	var errs fieldErrors
	if strings.TrimSpace(in.Email) == "" {
		errs.add("email", "is required")
	}
	if in.Password == "" {
		errs.add("password", "is required")
	}
	if err := errs.err(); err != nil {
		s.fail(w, r, err)
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	res, err := s.logIn(r.Context(), in.Email, in.Password, clientOf(r), wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.SetRefreshCookie(w, r, res.refreshToken, res.refreshExpires)
	s.rememberDevice(w, r, res.userID)
	s.writeTokens(w, res, false)
}

// handleRefresh exchanges a refresh token for a new access token. Browsers
// send the token in the cookie and get the rotated one back in the cookie;
// other clients send {"refresh_token": …} and get it back in the body. The
// token never reaches a body a browser script could read.
func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) {
	token, fromBody, ok := s.refreshTokenFrom(w, r)
	if !ok {
		return
	}
	if token == "" {
		problem(w, r, http.StatusUnauthorized, "invalid-refresh-token", "Not logged in",
			"No refresh token was sent. Log in again.")
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	res, err := s.refresh(r.Context(), token, wi)
	if err != nil {
		if !fromBody && (errors.Is(err, ErrSessionInvalid) || errors.Is(err, ErrRefreshReuse)) {
			s.ClearRefreshCookie(w, r)
		}
		s.fail(w, r, err)
		return
	}
	if !fromBody {
		s.SetRefreshCookie(w, r, res.refreshToken, res.refreshExpires)
	}
	s.writeTokens(w, res, fromBody)
}

// handleLogOut ends the session of the refresh token sent (cookie or body)
// and clears the cookie, and revokes the access token sent with it (bearer
// or cookie), which every service then refuses. It answers 204 whatever
// the tokens were: logging out twice, or with a stale cookie, is not an
// error to the person doing it.
func (s *Service) handleLogOut(w http.ResponseWriter, r *http.Request) {
	token, _, ok := s.refreshTokenFrom(w, r)
	if !ok {
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	access := ""
	if scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		access = strings.TrimSpace(raw)
	} else if c, err := r.Cookie(AccessCookieName); err == nil {
		access = c.Value
	}
	if err := s.revokePresented(r.Context(), access, wi); err != nil {
		s.fail(w, r, err)
		return
	}
	if token != "" {
		if err := s.logOut(r.Context(), token, wi); err != nil && !errors.Is(err, ErrSessionInvalid) {
			s.fail(w, r, err)
			return
		}
	}
	s.ClearRefreshCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// refreshTokenFrom reads a refresh token from the JSON body when there is
// one, else from the cookie.
func (s *Service) refreshTokenFrom(w http.ResponseWriter, r *http.Request) (token string, fromBody, ok bool) {
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if !s.decodeJSON(w, r, &in) {
			return "", false, false
		}
		if in.RefreshToken != "" {
			return in.RefreshToken, true, true
		}
	}
	return refreshTokenFromCookie(r), false, true
}

func (s *Service) writeTokens(w http.ResponseWriter, res issued, withRefresh bool) {
	body := tokenResponse{AccessToken: res.accessToken, TokenType: "Bearer", ExpiresIn: int(res.expiresIn.Seconds())}
	if withRefresh {
		body.RefreshToken = res.refreshToken
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, body)
}

// meResponse is the owner's account: the one place the email is shown, to
// the person it belongs to. Roles are the current ones, which the access
// token catches up with at its next refresh.
type meResponse struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	DisplayName   string   `json:"display_name"`
	Roles         []string `json:"roles"`
	Lang          string   `json:"lang"` // the language messages are written in
}

func meOf(u User) meResponse {
	return meResponse{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, DisplayName: u.DisplayName, Roles: u.Roles, Lang: u.Lang}
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	u, ok := s.currentUser(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, meOf(u))
}

func (s *Service) handlePutLanguage(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var in struct {
		Lang string `json:"lang"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	u, err := s.chooseLanguage(r.Context(), p.UserID, in.Lang, wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, meOf(u))
}

func (s *Service) handlePutEmail(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var in emailChangeInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	u, err := s.changeEmail(r.Context(), p.UserID, in, clientOf(r), wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, meOf(u))
}

// verificationSent answers a resend: the link's expiry, never the code,
// which only the mail may carry.
type verificationSent struct {
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Service) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	u, err := s.resendVerification(r.Context(), p.UserID, wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusAccepted, verificationSent{ExpiresAt: u.Verifications[len(u.Verifications)-1].ExpiresAt})
}

func (s *Service) handleGetProfile(w http.ResponseWriter, r *http.Request) {
	u, ok := s.currentUser(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, ownerProfile(u))
}

func (s *Service) handlePutProfile(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var in profileDoc
	if !s.decodeJSON(w, r, &in) {
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	u, err := s.updateProfile(r.Context(), p.UserID, in, wi)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, ownerProfile(u))
}

type timelineResponse struct {
	Entries    []TimelineEntry `json:"entries"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

func (s *Service) handleTimeline(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	limit, before := defaultPageSize, -1
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			s.fail(w, r, &ValidationError{Fields: []FieldError{{Field: "limit", Message: fmt.Sprintf("must be a number from 1 to %d", maxPageSize)}}})
			return
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, r, &ValidationError{Fields: []FieldError{{Field: "cursor", Message: "is not a cursor this endpoint gave out"}}})
			return
		}
		before = n
	}
	entries, next := s.timeline.page(p.UserID, before, limit)
	resp := timelineResponse{Entries: entries}
	if next >= 0 {
		resp.NextCursor = strconv.Itoa(next)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, resp)
}

func (s *Service) handlePerson(w http.ResponseWriter, r *http.Request) {
	u, _, err := loadUser(r.Context(), s.store, chi.URLParam(r, "id"))
	view, published := publicView(u)
	if errors.Is(err, ErrUserNotFound) || err == nil && !published {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.TypeNotFound,
			"Not found", "There is no public profile with this id."))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.works.withWorks(view))
}

// currentUser loads the caller's account. A valid token for an account that
// no longer exists (erased) is answered like no token.
func (s *Service) currentUser(w http.ResponseWriter, r *http.Request) (User, bool) {
	p, _ := auth.FromContext(r.Context())
	u, _, err := loadUser(r.Context(), s.store, p.UserID)
	if errors.Is(err, ErrUserNotFound) {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusUnauthorized, auth.TypeUnauthenticated,
			"Not logged in", "This account no longer exists."))
		return User{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return User{}, false
	}
	return u, true
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

func writeInfoFrom(w http.ResponseWriter, r *http.Request) (writeInfo, bool) {
	wi := writeInfo{requestID: httpserver.RequestID(r.Context())}
	if p, ok := auth.FromContext(r.Context()); ok {
		wi.actor = p.UserID
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusBadRequest, httpserver.TypeBadRequest, "Invalid Idempotency-Key",
			fmt.Sprintf("The Idempotency-Key header must be at most %d characters.", maxIdempotencyKey)))
		return wi, false
	}
	wi.idKey = key
	return wi, true
}

// fail classifies an error once, at the edge. Unexpected errors are logged
// with the request id and answered without their text.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *ValidationError
	var later *retryLater
	var held *throttledError
	switch {
	case errors.As(err, &invalid):
		fields := make([]httpserver.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = httpserver.FieldError{Field: f.Field, Message: f.Message}
		}
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
	case errors.Is(err, ErrEmailTaken):
		httpserver.WriteProblem(w, r, &httpserver.Problem{
			Type: httpserver.ProblemBase + "email-taken", Title: "Email address already registered", Status: http.StatusConflict,
			Detail: "An account with this email address already exists.",
			Errors: []httpserver.FieldError{{Field: "email", Message: "is already registered to an account"}},
		})
	case errors.Is(err, ErrAlreadyVerified):
		problem(w, r, http.StatusConflict, "email-already-verified", "Email address already verified",
			"The account's email address is verified already; there is no link to send.")
	case errors.As(err, &later):
		secs := int(math.Ceil(later.after.Seconds()))
		tooManyRequests(w, r, "A verification link was sent a short while ago.", strconv.Itoa(max(secs, 1)))
	case errors.Is(err, ErrInvalidCredentials):
		problem(w, r, http.StatusUnauthorized, "invalid-credentials", "Log-in failed",
			"The email address or the password is wrong.")
	case errors.As(err, &held):
		tooManyRequests(w, r, held.message(), strconv.Itoa(held.retryAfter()))
	case errors.Is(err, ErrRefreshReuse):
		problem(w, r, http.StatusUnauthorized, "refresh-token-reused", "Session ended",
			"This refresh token had already been used, so the session was ended to protect the account. Log in again.")
	case errors.Is(err, ErrSessionInvalid):
		problem(w, r, http.StatusUnauthorized, "invalid-refresh-token", "Not logged in",
			"The refresh token is not valid or the session has ended. Log in again.")
	case errors.Is(err, ErrUserNotFound):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.TypeNotFound,
			"Not found", "There is no such account."))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		httpserver.WriteError(w, r, s.log, err)
	}
}

// maxBodyBytes bounds identity request bodies; the largest legitimate one
// (a full profile) is well under it.
const maxBodyBytes = 64 << 10

// decodeJSON reads one JSON object into dst (unknown fields and trailing
// data refused), answering the request itself when it returns false.
func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := httpserver.DecodeJSON(r, dst); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return false
	}
	return true
}

// problem answers with one of this service's problem types.
func problem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string) {
	httpserver.WriteProblem(w, r, httpserver.NewProblem(status, httpserver.ProblemBase+slug, title, detail))
}
