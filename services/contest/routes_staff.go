package contest

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// mountStaff adds the organisers' back-office API: what a phase move will
// do, judge assignment by hand or balanced, scoring progress and the two
// rankings side by side.
func (s *Service) mountStaff(r chi.Router) {
	organizer := auth.RequireRole(auth.RoleOrganizer)
	r.With(organizer).Get("/contests/{contest}/phase/next", s.handlePhasePreview)
	r.With(organizer).Post("/contests/{contest}/assignments", s.handleAssignEntry)
	r.With(organizer).Post("/contests/{contest}/assignments/auto", s.handleAutoAssign)
	r.With(organizer).Get("/contests/{contest}/progress", s.handleProgress)
	r.With(organizer).Get("/contests/{contest}/ranking/compare", s.handleCompare)
}

func (s *Service) handlePhasePreview(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) { return c.PreviewMove(), nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// entryJudgesView answers an assignment with the entry's judges.
type entryJudgesView struct {
	Team   string   `json:"team"`
	Judges []string `json:"judges"`
}

func (s *Service) handleAssignEntry(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Judge string `json:"judge"`
		Team  string `json:"team"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		if err := c.assignEntry(in.Judge, in.Team, emit); err != nil {
			return nil, err
		}
		return entryJudgesView{Team: in.Team, Judges: nonNil(c.judgesOf(c.Teams[in.Team]))}, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleAutoAssign(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PerEntry int `json:"per_entry"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		return c.autoAssign(in.PerEntry, emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleProgress(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		round := c.ProgressRound()
		return map[string]any{"round": round, "judges": c.Progress(round)}, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleCompare(w http.ResponseWriter, r *http.Request) {
	round, _, threshold, err := rankingQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) { return c.Compare(round, threshold), nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}
