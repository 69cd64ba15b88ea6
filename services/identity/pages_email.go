package identity

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// The account forms of "My Yunqi": the language of messages, the email
// address and its verification. Each posts to its own address and, on an
// error, shows the whole page again with that form's errors.

const pathVerifyEmail = "/identity/verify-email"

// meAgain shows the page again with one form's errors; a visitor whose
// account is gone is logged out by loadVisitor.
func (p *Pages) meAgain(w http.ResponseWriter, r *http.Request, who auth.Principal, status int, forms meForms) {
	u, last, ok := p.loadVisitor(w, r, who)
	if ok {
		p.renderMe(w, r, status, u, forms, last)
	}
}

// accountGone answers a command on an erased account as the profile form
// does: log the browser out.
func (p *Pages) accountGone(w http.ResponseWriter, r *http.Request) {
	p.s.clearPageCookies(w, r)
	http.Redirect(w, r, pathLogIn, http.StatusSeeOther)
}

func (p *Pages) saveLanguage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	lang := r.PostForm.Get("lang")
	_, err := p.s.chooseLanguage(r.Context(), who.UserID, lang, writeInfoOf(r))
	var invalid *ValidationError
	switch {
	case errors.As(err, &invalid):
		form := web.NewFormIn("lang")
		form.Set("lang", lang)
		failFields(form, p.tr(r), invalid)
		p.meAgain(w, r, who, http.StatusUnprocessableEntity, meForms{lang: form})
		return
	case errors.Is(err, ErrUserNotFound):
		p.accountGone(w, r)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "identity.flash.lang_saved")
	http.Redirect(w, r, pathMe, http.StatusSeeOther)
}

func (p *Pages) changeEmail(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	in := emailChangeInput{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password")}
	form := web.NewFormIn("email")
	form.Set("email", strings.TrimSpace(in.Email))
	_, err := p.s.changeEmail(r.Context(), who.UserID, in, clientOf(r), writeInfoOf(r))
	var invalid *ValidationError
	var held *throttledError
	switch {
	case errors.As(err, &invalid):
		failFields(form, tr, invalid)
		p.meAgain(w, r, who, http.StatusUnprocessableEntity, meForms{email: form})
		return
	case errors.Is(err, ErrEmailTaken):
		form.Fail("email", tr.T("identity.email.taken"))
		p.meAgain(w, r, who, http.StatusConflict, meForms{email: form})
		return
	case errors.As(err, &held):
		heldBack(w, form, tr, held)
		p.meAgain(w, r, who, http.StatusTooManyRequests, meForms{email: form})
		return
	case errors.Is(err, ErrUserNotFound):
		p.accountGone(w, r)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "identity.flash.email_changed")
	http.Redirect(w, r, pathMe, http.StatusSeeOther)
}

func (p *Pages) resendVerification(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	_, err := p.s.resendVerification(r.Context(), who.UserID, writeInfoOf(r))
	var later *retryLater
	switch {
	case errors.As(err, &later):
		secs := max(1, int(math.Ceil(later.after.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		form := web.NewFormIn("verify")
		form.Fail("", tr.T("identity.limit.verification", "wait", tr.Duration(time.Duration(secs)*time.Second)))
		p.meAgain(w, r, who, http.StatusTooManyRequests, meForms{verify: form})
		return
	case errors.Is(err, ErrAlreadyVerified):
		p.ui.SetFlash(w, r, "identity.flash.already_verified")
	case errors.Is(err, ErrUserNotFound):
		p.accountGone(w, r)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	default:
		p.ui.SetFlash(w, r, "identity.flash.verification_sent")
	}
	http.Redirect(w, r, pathMe, http.StatusSeeOther)
}

// verifyData is the page a verification link opens.
type verifyData struct {
	State string // verified, expired or unknown
	// Resend: the visitor is logged in as the link's account and may ask
	// for a new link here; otherwise LogInPath leads there.
	Resend    bool
	LogInPath string
}

// verifyEmail answers the link of a verification mail,
// /identity/verify-email?u=<user id>&c=<code>, which the notifier builds.
// It needs no log-in, since the mail is often read on another device; the
// code, which only the mail carried, is the proof. Following it twice
// shows the same page and writes nothing.
func (p *Pages) verifyEmail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID := q.Get("u")
	_, err := p.s.verifyEmail(r.Context(), userID, q.Get("c"), writeInfoOf(r))
	d := verifyData{LogInPath: pathLogIn + "?next=" + url.QueryEscape(pathMe)}
	if who, ok := auth.FromContext(r.Context()); ok && who.UserID == userID {
		d.Resend = true
	}
	status := http.StatusOK
	switch {
	case err == nil:
		d.State = "verified"
	case errors.Is(err, ErrVerificationExpired):
		d.State, status = "expired", http.StatusGone
	case errors.Is(err, ErrVerificationUnknown):
		d.State, status = "unknown", http.StatusNotFound
	default:
		p.ui.Error(w, r, err)
		return
	}
	p.t.Render(w, r, status, "verify", web.Page{Title: "identity.verify." + d.State + "_title", Data: d})
}
