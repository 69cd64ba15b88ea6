package conference

import "github.com/go-chi/chi/v5"

// mountGate adds the gate app and the organisers' gate screen under
// /conference.
func (p *Pages) mountGate(r chi.Router) {}
