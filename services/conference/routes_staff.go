package conference

import "github.com/go-chi/chi/v5"

// mountStaff adds the organisers' back-office API (editions, tracks,
// sessions, ticket types, invite codes, attendee lists) under
// /api/conference; r already verifies tokens and limits bodies.
func (s *Service) mountStaff(r chi.Router) {}
