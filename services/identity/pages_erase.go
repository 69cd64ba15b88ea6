package identity

import (
	"errors"
	"net/http"

	"github.com/yunqi-town/yunqi/web"
)

// exportData is "Download my data" on the profile page: the same ZIP as
// GET /api/identity/me/export.
func (p *Pages) exportData(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	err := p.s.writeExport(w, r, who.UserID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		p.accountGone(w, r)
	case err != nil:
		p.ui.Error(w, r, err)
	}
}

// eraseAccount is the profile page's erasure form: the password again and
// a tick that says the person understands it is for ever.
func (p *Pages) eraseAccount(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	form := web.NewFormIn("erase")
	if r.PostForm.Get("confirm") != "on" {
		form.Fail("confirm", tr.T("identity.erase.confirm_missing"))
		p.meAgain(w, r, who, http.StatusUnprocessableEntity, meForms{erase: form})
		return
	}
	form.Set("confirm", "on")
	err := p.s.eraseOwnAccount(r.Context(), who.UserID, r.PostForm.Get("password"), clientOf(r), writeInfoOf(r))
	var invalid *ValidationError
	var held *throttledError
	switch {
	case errors.As(err, &invalid):
		failFields(form, tr, invalid)
		p.meAgain(w, r, who, http.StatusUnprocessableEntity, meForms{erase: form})
		return
	case errors.As(err, &held):
		heldBack(w, form, tr, held)
		p.meAgain(w, r, who, http.StatusTooManyRequests, meForms{erase: form})
		return
	case errors.Is(err, ErrUserNotFound):
		p.accountGone(w, r)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	p.s.endAccess(r.Context(), who, writeInfoOf(r))
	p.s.clearPageCookies(w, r)
	p.ui.SetFlash(w, r, "identity.flash.erased")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
