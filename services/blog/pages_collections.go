package blog

import "github.com/go-chi/chi/v5"

// mountCollections adds the collection pages under /blog/collections.
func (p *Pages) mountCollections(r chi.Router) {}
