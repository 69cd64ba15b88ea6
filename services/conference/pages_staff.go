package conference

import "github.com/go-chi/chi/v5"

// mountStaff adds the organisers' back-office pages under /conference.
func (p *Pages) mountStaff(r chi.Router) {}
