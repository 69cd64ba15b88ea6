package contest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// maxBodyBytes bounds JSON bodies; a contest with its schedule and rubric
// is the largest legitimate one. Attachments have their own limit.
const maxBodyBytes = 64 << 10

// Routes returns the API as a handler of its own.
func (s *Service) Routes() http.Handler {
	r := chi.NewRouter()
	s.Mount(r)
	return r
}

// Mount adds the JSON API under /api/contest/.
func (s *Service) Mount(r chi.Router) {
	r.Route("/api/contest", func(r chi.Router) {
		httpserver.APIFallbacks(r, "contest")
		r.Use(web.Protect, s.cfg.Verifier.Middleware)
		r.Group(func(r chi.Router) {
			r.Use(httpserver.LimitBody(maxBodyBytes))
			organizer := auth.RequireRole(auth.RoleOrganizer)
			judge := auth.RequireRole(auth.RoleJudge)
			// Organisers oversee judging; no role implies another, so
			// both are named.
			judgeOrOrganizer := auth.RequireRole(auth.RoleJudge, auth.RoleOrganizer)

			r.Get("/contests", s.handleContests)
			r.Get("/contests/{contest}", s.handleContest)
			r.Get("/contests/{contest}/gallery", s.handleGallery)

			r.With(organizer).Post("/contests", s.handleCreate)
			r.With(organizer).Put("/contests/{contest}/schedule", s.handleSchedule)
			r.With(organizer).Post("/contests/{contest}/phase", s.handlePhase)
			r.With(organizer).Post("/contests/{contest}/rubrics", s.handleRubric)
			r.With(organizer).Put("/contests/{contest}/judges/{judge}", s.handleAssignJudge)
			r.With(organizer).Get("/contests/{contest}/ranking", s.handleRanking)
			r.With(organizer).Post("/contests/{contest}/shortlist", s.handleShortlist)
			r.With(organizer).Post("/contests/{contest}/finalists", s.handleFinalists)
			r.With(organizer).Post("/contests/{contest}/results", s.handlePublish)
			s.mountStaff(r)

			r.With(judge).Get("/contests/{contest}/judging/queue", s.handleQueue)
			r.With(judge).Post("/contests/{contest}/judging/conflicts", s.handleConflict)
			r.With(judge).Put("/contests/{contest}/judging/entries/{team}/score", s.handleScore)
			r.With(judgeOrOrganizer).Get("/contests/{contest}/judging/entries/{team}/scores", s.handleScores)

			r.Group(func(r chi.Router) {
				r.Use(auth.RequireUser)
				r.Get("/contests/{contest}/me", s.handleMyTeam)
				r.Post("/contests/{contest}/teams", s.handleCreateTeam)
				r.Post("/contests/{contest}/teams/join", s.handleJoin)
				r.Get("/contests/{contest}/teams/{team}", s.handleTeam)
				r.Post("/contests/{contest}/teams/{team}/leave", s.handleLeave)
				r.Post("/contests/{contest}/teams/{team}/invite", s.handleRenewInvite)
				r.Put("/contests/{contest}/teams/{team}/submission", s.handleSubmit)
				r.Get("/contests/{contest}/teams/{team}/timeline", s.handleTimeline)
				r.Get("/contests/{contest}/teams/{team}/attachments/{sha256}", s.handleDownload)
			})
		})
		r.With(auth.RequireUser, httpserver.LimitBody(s.cfg.MaxAttachmentBytes+1)).Post("/contests/{contest}/teams/{team}/attachments", s.handleUpload)
	})
}

func meta(r *http.Request) events.Metadata {
	m := events.Metadata{RequestID: httpserver.RequestID(r.Context()), CorrelationID: httpserver.RequestID(r.Context())}
	if p, ok := auth.FromContext(r.Context()); ok {
		m.Actor = p.UserID
	}
	return m
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// idKey scopes a client's Idempotency-Key to the caller and the command.
// Only creations take one: their retry is refused by the aggregate before
// anything is emitted, so derived ids never meet other events. A retried
// score or save is a new revision instead, visible as such.
func idKey(r *http.Request, command string) string {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if k == "" || len(k) > 255 {
		return ""
	}
	return "contest\x00" + command + "\x00" + principal(r).UserID + "\x00" + k
}

func contestID(r *http.Request) string { return chi.URLParam(r, "contest") }

func (s *Service) handleContests(w http.ResponseWriter, r *http.Request) {
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"contests": s.public.list()})
}

func (s *Service) handleContest(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) { return summaryOf(c), nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// handleGallery serves the published entries: the public, anonymous view
// of a contest's results. Before publication it is empty.
func (s *Service) handleGallery(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		return galleryResponse{Contest: c.ID, Published: c.Published(), Entries: nonNil(slices.Clone(c.Gallery))}, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

type galleryResponse struct {
	Contest   string         `json:"contest"`
	Published bool           `json:"published"`
	Entries   []GalleryEntry `json:"entries"`
}

type namedInput struct {
	ID   string `json:"id"`
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
}

type criterionInput struct {
	namedInput
	Weight float64 `json:"weight"`
}

type rubricInput struct {
	ScaleMin float64          `json:"scale_min"`
	ScaleMax float64          `json:"scale_max"`
	Criteria []criterionInput `json:"criteria"`
}

func (in rubricInput) rubric() events.RubricPublished {
	r := events.RubricPublished{ScaleMin: in.ScaleMin, ScaleMax: in.ScaleMax, Criteria: []events.RubricCriterion{}}
	for _, c := range in.Criteria {
		r.Criteria = append(r.Criteria, events.RubricCriterion{ID: c.ID, NameZH: c.Name.ZH, NameEN: c.Name.EN, Weight: c.Weight})
	}
	return r
}

type contestInput struct {
	ID   string `json:"id"`
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
	Year          int                         `json:"year"`
	TeamSizeLimit int                         `json:"team_size_limit"`
	Tracks        []namedInput                `json:"tracks"`
	Awards        []namedInput                `json:"awards"`
	Schedule      []events.ContestPhaseWindow `json:"schedule"`
	Rubric        *rubricInput                `json:"rubric"`
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in contestInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	cmd := CreateContest{ID: in.ID, NameZH: in.Name.ZH, NameEN: in.Name.EN, Year: in.Year, TeamSizeLimit: in.TeamSizeLimit, Schedule: in.Schedule}
	for _, t := range in.Tracks {
		cmd.Tracks = append(cmd.Tracks, events.ContestTrack{ID: t.ID, NameZH: t.Name.ZH, NameEN: t.Name.EN})
	}
	for _, a := range in.Awards {
		cmd.Awards = append(cmd.Awards, events.ContestAward{ID: a.ID, NameZH: a.Name.ZH, NameEN: a.Name.EN})
	}
	if in.Rubric != nil {
		rb := in.Rubric.rubric()
		cmd.Rubric = &rb
	}
	if !idPattern.MatchString(cmd.ID) {
		s.fail(w, r, &ValidationError{Fields: []FieldError{{"id", "must be lower-case letters, digits, - or _ (at most 64)"}}})
		return
	}
	v, err := s.exec(r.Context(), cmd.ID, true, meta(r), idKey(r, "create"), func(c *Contest, _ time.Time, emit emit) (any, error) {
		if err := c.create(cmd, emit); err != nil {
			return nil, err
		}
		return summaryOf(c), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/contest/contests/"+cmd.ID)
	httpserver.WriteJSON(w, http.StatusCreated, v)
}

// organise runs an organiser's command and answers with the contest.
func (s *Service) organise(w http.ResponseWriter, r *http.Request, status int, decide func(c *Contest, now time.Time, emit emit) error) {
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		if err := decide(c, now, emit); err != nil {
			return nil, err
		}
		return summaryOf(c), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, status, v)
}

func (s *Service) handleSchedule(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Schedule []events.ContestPhaseWindow `json:"schedule"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.organise(w, r, http.StatusOK, func(c *Contest, _ time.Time, emit emit) error { return c.changeSchedule(in.Schedule, emit) })
}

func (s *Service) handlePhase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phase string `json:"phase"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.organise(w, r, http.StatusOK, func(c *Contest, _ time.Time, emit emit) error { return c.changePhase(in.Phase, emit) })
}

func (s *Service) handleRubric(w http.ResponseWriter, r *http.Request) {
	var in rubricInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.organise(w, r, http.StatusCreated, func(c *Contest, _ time.Time, emit emit) error { return c.publishRubric(in.rubric(), emit) })
}

func (s *Service) handleAssignJudge(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName  string   `json:"display_name"`
		Organization string   `json:"organization"`
		Tracks       []string `json:"tracks"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	cmd := AssignJudge{Judge: chi.URLParam(r, "judge"), DisplayName: in.DisplayName, Organization: in.Organization, Tracks: in.Tracks}
	s.organise(w, r, http.StatusOK, func(c *Contest, _ time.Time, emit emit) error { return c.assignJudge(cmd, emit) })
}

type teamsInput struct {
	Teams []string `json:"teams"`
}

func (s *Service) handleShortlist(w http.ResponseWriter, r *http.Request) {
	var in teamsInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.organise(w, r, http.StatusOK, func(c *Contest, _ time.Time, emit emit) error { return c.shortlist(in.Teams, emit) })
}

func (s *Service) handleFinalists(w http.ResponseWriter, r *http.Request) {
	var in teamsInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.organise(w, r, http.StatusOK, func(c *Contest, _ time.Time, emit emit) error { return c.promote(in.Teams, emit) })
}

func (s *Service) handlePublish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Aggregation string `json:"aggregation"`
		Awards      []struct {
			Team  string `json:"team"`
			Award string `json:"award"`
		} `json:"awards"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	cmd := PublishResults{Aggregation: in.Aggregation}
	for _, a := range in.Awards {
		cmd.Awards = append(cmd.Awards, Award{Team: a.Team, Award: a.Award})
	}
	s.organise(w, r, http.StatusOK, func(c *Contest, now time.Time, emit emit) error { return c.publish(cmd, now, emit) })
}

// rankingQuery reads round, aggregation and threshold from the query.
func rankingQuery(r *http.Request) (round string, agg Aggregation, threshold float64, err error) {
	q := r.URL.Query()
	var errs fieldErrors
	round = q.Get("round")
	if round == "" {
		round = events.RoundReview
	}
	if round != events.RoundReview && round != events.RoundFinals {
		errs.add("round", "must be review or finals")
	}
	agg, ok := ParseAggregation(q.Get("aggregation"))
	if !ok {
		errs.add("aggregation", "must be zscore or raw")
	}
	threshold = DefaultDisagreement
	if v := q.Get("threshold"); v != "" {
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || !(f > 0) || f > 1 {
			errs.add("threshold", "must be a share of the scale above 0 and at most 1")
		}
		threshold = f
	}
	return round, agg, threshold, errs.err()
}

func (s *Service) handleRanking(w http.ResponseWriter, r *http.Request) {
	round, agg, threshold, err := rankingQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		return c.Ranking(round, agg, threshold), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// EntryView is an entry as a judge sees it: no member names or
// organisations, so judging stays about the work.
type EntryView struct {
	Team        string                        `json:"team"`
	TeamName    string                        `json:"team_name"`
	Round       string                        `json:"round"`
	Title       string                        `json:"title"`
	Summary     string                        `json:"summary"`
	Track       string                        `json:"track"`
	RepoURL     string                        `json:"repo_url,omitempty"`
	DemoURL     string                        `json:"demo_url,omitempty"`
	Revision    int                           `json:"revision"`
	Attachments []events.SubmissionAttachment `json:"attachments"`
	Scored      bool                          `json:"scored"`
	MyRevision  int                           `json:"my_revision,omitempty"`
}

// Queue lists the entries assigned to a judge in the current round.
func (c *Contest) Queue(judgeID string) []EntryView {
	out := []EntryView{}
	round := ""
	switch c.Phase {
	case events.PhaseReview:
		round = events.RoundReview
	case events.PhaseFinals:
		round = events.RoundFinals
	default:
		return out
	}
	for _, id := range c.TeamOrder {
		if !c.Assigned(judgeID, id, round) {
			continue
		}
		t := c.Teams[id]
		e := t.Submitted
		v := EntryView{Team: id, TeamName: t.Name, Round: round, Title: e.Title, Summary: e.Summary, Track: e.Track, RepoURL: e.RepoURL,
			DemoURL: e.DemoURL, Revision: e.Revision, Attachments: nonNil(e.Attachments)}
		if i, ok := c.Latest[scoreKey{judgeID, id, round}]; ok {
			v.Scored, v.MyRevision = true, c.Scores[i].Revision
		}
		out = append(out, v)
	}
	return out
}

func (s *Service) handleQueue(w http.ResponseWriter, r *http.Request) {
	me := principal(r).UserID
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		if c.Judges[me] == nil {
			return nil, ErrNotJudge
		}
		return map[string]any{"phase": c.Phase, "entries": c.Queue(me)}, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleConflict(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Team   string `json:"team"`
		Reason string `json:"reason"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	me := principal(r).UserID
	_, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		return nil, c.declareConflict(me, in.Team, in.Reason, emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, map[string]any{"team": in.Team, "excluded": true})
}

func (s *Service) handleScore(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Round  string                  `json:"round"`
		Scores []events.CriterionScore `json:"scores"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.Round == "" {
		in.Round = events.RoundReview
	}
	cmd := Score{Judge: principal(r).UserID, Team: chi.URLParam(r, "team"), Round: in.Round, Scores: in.Scores}
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		e, err := c.score(cmd, emit)
		if err != nil {
			return nil, err
		}
		return scoreView(c, e), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// ScoreView is one recorded score. Replaced is true for a score a later
// revision of the same judge replaced: the history stays visible.
type ScoreView struct {
	Judge         string                  `json:"judge"`
	JudgeName     string                  `json:"judge_name"`
	Round         string                  `json:"round"`
	RubricVersion int                     `json:"rubric_version"`
	Revision      int                     `json:"revision"`
	Replaced      bool                    `json:"replaced"`
	Total         float64                 `json:"total"`
	Scores        []events.CriterionScore `json:"scores"`
}

func scoreView(c *Contest, e events.ScoreRecorded) ScoreView {
	v := ScoreView{Judge: e.JudgeID, Round: e.Round, RubricVersion: e.RubricVersion, Revision: e.Revision, Scores: e.Scores}
	if j := c.Judges[e.JudgeID]; j != nil {
		v.JudgeName = j.DisplayName
	}
	if r, ok := c.Rubrics[e.RubricVersion]; ok {
		v.Total = weightedTotal(r, e)
	}
	if i, ok := c.Latest[scoreKey{e.JudgeID, e.TeamID, e.Round}]; ok {
		v.Replaced = c.Scores[i].Revision != e.Revision
	}
	return v
}

// handleScores shows the scores of an entry: a judge sees their own until
// scoring closes, then everyone's on the entries assigned to them;
// organisers see all.
func (s *Service) handleScores(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	team := chi.URLParam(r, "team")
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		t := c.Teams[team]
		if t == nil || !t.Entered {
			return nil, ErrEntryNotFound
		}
		all := p.HasRole(auth.RoleOrganizer)
		if !all {
			if c.Judges[p.UserID] == nil {
				return nil, ErrNotJudge
			}
			if !c.Assigned(p.UserID, team, events.RoundReview) && !c.Assigned(p.UserID, team, events.RoundFinals) {
				return nil, ErrEntryNotFound
			}
			all = c.ScoringClosed()
		}
		out := []ScoreView{}
		for _, e := range c.Scores {
			if e.TeamID == team && (all || e.JudgeID == p.UserID) {
				out = append(out, scoreView(c, e))
			}
		}
		return map[string]any{"team": team, "others_visible": all, "scores": out}, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// TeamView is a team as its members see it. Scores appear only after
// publication, and then without judges' names.
type TeamView struct {
	Contest         string                  `json:"contest"`
	ID              string                  `json:"id"`
	Name            string                  `json:"name"`
	Owner           string                  `json:"owner"`
	Members         []MemberView            `json:"members"`
	InviteCode      string                  `json:"invite_code,omitempty"` // only in the answer that made it
	InviteExpiresAt time.Time               `json:"invite_expires_at"`
	RosterLocked    bool                    `json:"roster_locked"`
	Deadline        time.Time               `json:"deadline"`
	Entry           *events.SubmissionSaved `json:"entry"`
	Entered         bool                    `json:"entered"`
	Shortlisted     bool                    `json:"shortlisted"`
	Finalist        bool                    `json:"finalist"`
	Result          *ResultView             `json:"result"`
}

type MemberView struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	PublicName  bool   `json:"public_name"`
}

type ResultView struct {
	Rank     int                `json:"rank,omitempty"`
	Award    string             `json:"award,omitempty"`
	Score    *RankingRow        `json:"score,omitempty"`
	Comments []string           `json:"comments"`
	Criteria map[string]float64 `json:"criteria"`
}

func teamView(c *Contest, t *Team, now time.Time) TeamView {
	v := TeamView{Contest: c.ID, ID: t.ID, Name: t.Name, Owner: t.Owner, Members: []MemberView{}, InviteExpiresAt: t.InviteExpiresAt,
		RosterLocked: c.rosterOpen(now) != nil, Deadline: c.Deadline(), Entry: t.Entry, Entered: t.Entered,
		Shortlisted: t.Shortlist, Finalist: t.Finalist}
	for _, m := range t.Members {
		v.Members = append(v.Members, MemberView{ID: m.ID, DisplayName: m.DisplayName, PublicName: m.PublicName})
	}
	if c.Published() {
		res := &ResultView{Comments: []string{}, Criteria: map[string]float64{}}
		if t.Result != nil {
			res.Rank, res.Award = t.Result.Rank, t.Result.Award
		}
		agg, _ := ParseAggregation(c.Results.Aggregation)
		for _, row := range c.Ranking(c.Results.Round, agg, DefaultDisagreement).Rows {
			if row.Team == t.ID {
				res.Score = &row
			}
		}
		// Per-criterion means and comments, without who gave them.
		n := map[string]int{}
		for k, i := range c.Latest {
			e := c.Scores[i]
			if k.team != t.ID || k.round != c.Results.Round || c.Rubric == nil || e.RubricVersion != c.Rubric.Version {
				continue
			}
			for _, cs := range e.Scores {
				res.Criteria[cs.Criterion] += cs.Value
				n[cs.Criterion]++
				if cs.Comment != "" {
					res.Comments = append(res.Comments, cs.Comment)
				}
			}
		}
		for k := range res.Criteria {
			res.Criteria[k] /= float64(n[k])
		}
		slices.Sort(res.Comments)
		v.Result = res
	}
	return v
}

type memberInput struct {
	DisplayName  string `json:"display_name"`
	Organization string `json:"organization"`
	PublicName   bool   `json:"public_name"`
}

// newCode makes an invite code people can read out: no 0/O or 1/I.
func newCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

func (s *Service) handleCreateTeam(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
		memberInput
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p := principal(r)
	if in.DisplayName == "" {
		in.DisplayName = p.DisplayName
	}
	code := newCode()
	teamID := events.NewID().String()
	if k := idKey(r, "team"); k != "" {
		teamID = events.IDFromKey(k, -1).String()
	}
	m := meta(r)
	v, err := s.exec(r.Context(), contestID(r), false, m, idKey(r, "team"), func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		t, err := c.createTeam(CreateTeam{TeamID: teamID, Name: in.Name, Member: p.UserID, DisplayName: in.DisplayName,
			Organization: in.Organization, PublicName: in.PublicName, Code: code}, now, emit)
		if err != nil {
			return nil, err
		}
		v := teamView(c, t, now)
		v.InviteCode = code
		return v, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tv := v.(TeamView)
	w.Header().Set("Location", "/api/contest/contests/"+tv.Contest+"/teams/"+tv.ID)
	httpserver.WriteJSON(w, http.StatusCreated, tv)
}

func (s *Service) handleJoin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
		memberInput
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p := principal(r)
	if in.DisplayName == "" {
		in.DisplayName = p.DisplayName
	}
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		t, err := c.joinTeam(JoinTeam{Code: in.Code, Member: p.UserID, DisplayName: in.DisplayName, Organization: in.Organization, PublicName: in.PublicName}, now, emit)
		if err != nil {
			return nil, err
		}
		return teamView(c, t, now), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// own runs f on the caller's team; anyone else's is not found.
func (s *Service) own(w http.ResponseWriter, r *http.Request, idk string, f func(c *Contest, t *Team, now time.Time, emit emit) (any, error)) (any, bool) {
	me := principal(r).UserID
	team := chi.URLParam(r, "team")
	v, err := s.exec(r.Context(), contestID(r), false, meta(r), idk, func(c *Contest, now time.Time, emit emit) (any, error) {
		t, err := c.ownTeam(team, me)
		if err != nil {
			return nil, err
		}
		return f(c, t, now, emit)
	})
	if errors.Is(err, ErrContestNotFound) {
		err = ErrTeamNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return v, true
}

func (s *Service) handleMyTeam(w http.ResponseWriter, r *http.Request) {
	me := principal(r).UserID
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, now time.Time) (any, error) {
		id, ok := c.MemberTeam[me]
		if !ok {
			return nil, ErrTeamNotFound
		}
		return teamView(c, c.Teams[id], now), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleTeam(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.own(w, r, "", func(c *Contest, t *Team, now time.Time, _ emit) (any, error) { return teamView(c, t, now), nil }); ok {
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

func (s *Service) handleLeave(w http.ResponseWriter, r *http.Request) {
	me := principal(r).UserID
	if _, ok := s.own(w, r, "", func(c *Contest, t *Team, now time.Time, emit emit) (any, error) {
		return c.leaveTeam(t.ID, me, now, emit)
	}); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) handleRenewInvite(w http.ResponseWriter, r *http.Request) {
	me := principal(r).UserID
	code := newCode()
	if v, ok := s.own(w, r, "", func(c *Contest, t *Team, now time.Time, emit emit) (any, error) {
		if _, err := c.renewInvite(t.ID, me, code, now, emit); err != nil {
			return nil, err
		}
		v := teamView(c, t, now)
		v.InviteCode = code
		return v, nil
	}); ok {
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

// Receipt is handed back after every change of an entry.
type Receipt struct {
	Contest  string    `json:"contest"`
	Team     string    `json:"team"`
	Revision int       `json:"revision"`
	Draft    bool      `json:"draft"`
	Receipt  string    `json:"receipt"`
	SavedAt  time.Time `json:"saved_at"`
	Deadline time.Time `json:"deadline"`
}

type submissionInput struct {
	Draft       bool                          `json:"draft"`
	Title       string                        `json:"title"`
	Summary     string                        `json:"summary"`
	Track       string                        `json:"track"`
	RepoURL     string                        `json:"repo_url"`
	DemoURL     string                        `json:"demo_url"`
	Attachments []events.SubmissionAttachment `json:"attachments"`
}

func (s *Service) submit(ctx context.Context, r *http.Request, contest, team string, in submissionInput) (Receipt, error) {
	me := principal(r).UserID
	v, err := s.exec(ctx, contest, false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		saved, err := c.saveSubmission(SaveSubmission{Team: team, Member: me, Draft: in.Draft, Title: in.Title, Summary: in.Summary,
			Track: in.Track, RepoURL: in.RepoURL, DemoURL: in.DemoURL, Attachments: in.Attachments, Stored: s.files.has}, now, emit)
		if err != nil {
			return nil, err
		}
		return Receipt{Contest: c.ID, Team: team, Revision: saved.Revision, Draft: saved.Draft, Receipt: saved.Receipt, SavedAt: now.UTC(), Deadline: c.Deadline()}, nil
	})
	if errors.Is(err, ErrContestNotFound) {
		err = ErrTeamNotFound
	}
	if err != nil {
		return Receipt{}, err
	}
	return v.(Receipt), nil
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var in submissionInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	rc, err := s.submit(r.Context(), r, contestID(r), chi.URLParam(r, "team"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, rc)
}

// handleUpload stores one attachment (the raw body; its name in ?name=).
// Only a member of the team may upload, and only before the deadline; the
// file is named in the entry by a later save.
func (s *Service) handleUpload(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "/\\\x00") {
		s.fail(w, r, &ValidationError{Fields: []FieldError{{"name", "is required: the file's name, without folders (at most 200 characters)"}}})
		return
	}
	if _, ok := s.own(w, r, "", func(c *Contest, t *Team, now time.Time, _ emit) (any, error) {
		if d := c.Deadline(); phaseIndex(c.Phase) > phaseIndex(events.PhaseSubmission) || (!d.IsZero() && !now.Before(d)) {
			return nil, &LateError{Deadline: d, At: now}
		}
		return nil, nil
	}); !ok {
		return
	}
	sum, ct, size, err := s.files.put(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, events.SubmissionAttachment{SHA256: sum, Name: name, ContentType: ct, Size: size})
}

type timelineResponse struct {
	Entries []Step `json:"entries"`
}

func (s *Service) handleTimeline(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.own(w, r, "", func(_ *Contest, t *Team, _ time.Time, _ emit) (any, error) {
		return timelineResponse{Entries: t.OwnerTimeline()}, nil
	}); ok {
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

// fail classifies an error once, at the edge.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *ValidationError
	var late *LateError
	var wrongPhase *PhaseError
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict):
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "judge", Message: conflict.Error() + "; choose another judge"}))
	case errors.As(err, &invalid):
		fields := make([]httpserver.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = httpserver.FieldError{Field: f.Field, Message: f.Message}
		}
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
	case errors.As(err, &late):
		problem(w, r, http.StatusConflict, "deadline-passed", "Deadline passed", "Nothing was saved: "+late.Error()+".")
	case errors.As(err, &wrongPhase):
		problem(w, r, http.StatusConflict, "wrong-phase", "Not in this phase", "Nothing was changed: "+wrongPhase.Error()+".")
	case errors.Is(err, ErrContestNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such contest.")
	case errors.Is(err, ErrTeamNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such team of yours in this contest.")
	case errors.Is(err, ErrEntryNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such entry assigned to you.")
	case errors.Is(err, ErrNotJudge):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "You are not a judge of this contest.")
	case errors.Is(err, ErrContestExists):
		problem(w, r, http.StatusConflict, "contest-exists", "Contest exists", "A contest with this id exists already.")
	case errors.Is(err, ErrAlreadyInTeam):
		problem(w, r, http.StatusConflict, "already-in-team", "Already in a team", "You are in a team of this contest already; leave it first.")
	case errors.Is(err, ErrTeamFull):
		problem(w, r, http.StatusConflict, "team-full", "Team full", "This team has reached the contest's team size limit.")
	case errors.Is(err, ErrBadInviteCode):
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "code", Message: "is not the invite code of a team in this contest"}))
	case errors.Is(err, ErrInviteExpired):
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "code", Message: "has expired: ask the team for a new one"}))
	case errors.Is(err, ErrRosterLocked):
		problem(w, r, http.StatusConflict, "roster-locked", "Rosters locked", "Teams can no longer change in this contest.")
	case errors.Is(err, ErrConflictOfInterest):
		problem(w, r, http.StatusConflict, "conflict-of-interest", "Conflict of interest", "You are excluded from this entry (declared conflict, or your organisation matches a team member's).")
	case errors.Is(err, ErrNoRubric):
		problem(w, r, http.StatusConflict, "no-rubric", "No rubric", "Publish a rubric before judging starts.")
	case errors.Is(err, ErrAttachmentTooLarge):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusRequestEntityTooLarge, httpserver.TypeBodyTooLarge, "Attachment too large",
			fmt.Sprintf("An attachment may be at most %d bytes.", s.cfg.MaxAttachmentBytes)))
	case errors.Is(err, ErrAttachmentType), errors.Is(err, ErrAttachmentEmpty):
		problem(w, r, http.StatusUnsupportedMediaType, "attachment-type", "Attachment type not accepted",
			"Attach PDF, PNG, JPEG, GIF, WebP, ZIP or plain text; the type is read from the file's content.")
	case httpserver.IsTooLarge(err):
		httpserver.WriteError(w, r, s.log, err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		httpserver.WriteError(w, r, s.log, err)
	}
}

func problem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string) {
	typ := httpserver.ProblemBase + slug
	if slug == "not-found" {
		typ = httpserver.TypeNotFound
	}
	httpserver.WriteProblem(w, r, httpserver.NewProblem(status, typ, title, detail))
}

func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := httpserver.DecodeJSON(r, dst); err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return false
	}
	return true
}
