package conference

import "github.com/go-chi/chi/v5"

// mountAudit adds the organisers' audit view of an edition.
func (p *Pages) mountAudit(r chi.Router) {}
