package conference

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// maxBodyBytes bounds request bodies; an edition with its tracks and ticket
// types is the largest legitimate one.
const maxBodyBytes = 64 << 10

// maxBatchBodyBytes bounds an upload of queued scans: 500 tickets of
// well under a kilobyte each.
const maxBatchBodyBytes = 1 << 20

// Routes returns the API as a handler of its own.
func (s *Service) Routes() http.Handler {
	r := chi.NewRouter()
	s.Mount(r)
	return r
}

// Mount adds the JSON API under /api/conference/.
func (s *Service) Mount(r chi.Router) {
	r.Route("/api/conference", func(r chi.Router) {
		httpserver.APIFallbacks(r, "conference")
		r.Use(web.Protect, s.cfg.Verifier.Middleware)
		gate := auth.RequireRole(auth.RoleGate, auth.RoleOrganizer)
		// A device back from hours offline uploads its queue at once.
		r.With(gate, httpserver.LimitBody(maxBatchBodyBytes)).Post("/checkins/batch", s.handleCheckInBatch)
		r.Group(func(r chi.Router) {
			r.Use(httpserver.LimitBody(maxBodyBytes))
			s.mountAPI(r)
		})
	})
}

func (s *Service) mountAPI(r chi.Router) {
	{
		s.mountStaff(r)
		s.mountBackOffice(r)
		s.mountCalendar(r)
		r.Get("/ticket-keys", s.handleTicketKeys)
		r.Get("/editions/{edition}", s.handleEdition)
		organizer := auth.RequireRole(auth.RoleOrganizer)
		r.With(organizer).Post("/editions", s.handleCreateEdition)
		r.With(organizer).Patch("/editions/{edition}", s.handleChangeEdition)
		r.With(organizer).Post("/editions/{edition}/sessions", s.handleAddSession)
		r.With(organizer).Patch("/editions/{edition}/sessions/{session}", s.handleChangeSession)
		r.With(organizer).Post("/editions/{edition}/sessions/{session}/reschedule", s.handleRescheduleSession)
		r.With(organizer).Get("/editions/{edition}/sessions/{session}/attendees", s.handleAttendees)
		r.With(organizer).Post("/editions/{edition}/invite-codes", s.handleIssueInvite)
		gate := auth.RequireRole(auth.RoleGate, auth.RoleOrganizer)
		r.With(gate).Get("/editions/{edition}/revocations", s.handleRevocations)
		r.With(gate).Get("/editions/{edition}/gate-bundle", s.handleGateBundle)
		r.With(gate).Post("/checkins", s.handleCheckIn)
		r.With(organizer).Get("/editions/{edition}/conflicts", s.handleConflicts)
		r.With(organizer).Get("/editions/{edition}/devices", s.handleDevices)
		r.With(organizer).Post("/editions/{edition}/devices/{device}/revoke", s.handleRevokeDevice)
		r.With(organizer).Get("/editions/{edition}/checkins", s.handleGateCounts)
		r.With(auth.RequireRole(auth.RoleMember)).Post("/editions/{edition}/registrations", s.handleRegister)
		r.Group(func(r chi.Router) {
			r.Use(auth.RequireUser)
			r.Get("/registrations/{id}", s.handleRegistration)
			r.Delete("/registrations/{id}", s.handleCancel)
			r.Post("/registrations/{id}/accept", s.handleAccept)
			r.Get("/registrations/{id}/timeline", s.handleTimeline)
			r.Get("/registrations/{id}/ticket", s.handleTicket)
			r.Get("/registrations/{id}/ticket.png", s.handleTicketPNG)
			r.Get("/registrations/{id}/calendar.ics", s.handleRegistrationCalendar)
		})
	}
}

// meta is the metadata of events a request causes.
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

func (s *Service) handleTicketKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpserver.WriteJSON(w, http.StatusOK, s.TicketKeys())
}

func (s *Service) handleEdition(w http.ResponseWriter, r *http.Request) {
	v, err := s.read(r.Context(), chi.URLParam(r, "edition"), func(ed *Edition) (any, error) { return ed.Counts(), nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, v)
}

type editionInput struct {
	ID   string `json:"id"`
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
	StartsOn             string    `json:"starts_on"`
	EndsOn               string    `json:"ends_on"`
	Venue                string    `json:"venue"`
	Capacity             int       `json:"capacity"`
	OfferWindowSeconds   int64     `json:"offer_window_seconds"`
	CancellationDeadline time.Time `json:"cancellation_deadline"`
	RegistrationOpens    time.Time `json:"registration_opens"`
	RegistrationCloses   time.Time `json:"registration_closes"`
	EditionWaitlist      int       `json:"edition_waitlist"`
	Tracks               []struct {
		ID   string `json:"id"`
		Name struct {
			ZH string `json:"zh"`
			EN string `json:"en"`
		} `json:"name"`
	} `json:"tracks"`
	TicketTypes []struct {
		ID         string `json:"id"`
		Quota      int    `json:"quota"`
		InviteOnly bool   `json:"invite_only"`
	} `json:"ticket_types"`
}

func (s *Service) handleCreateEdition(w http.ResponseWriter, r *http.Request) {
	var in editionInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c := CreateEdition{ID: in.ID, NameZH: in.Name.ZH, NameEN: in.Name.EN, StartsOn: in.StartsOn, EndsOn: in.EndsOn,
		Venue: in.Venue, Capacity: in.Capacity, OfferWindow: time.Duration(in.OfferWindowSeconds) * time.Second,
		CancellationDeadline: in.CancellationDeadline, WaitlistLimit: in.EditionWaitlist,
		RegistrationOpens: in.RegistrationOpens, RegistrationCloses: in.RegistrationCloses}
	for _, t := range in.Tracks {
		c.Tracks = append(c.Tracks, Track{ID: t.ID, NameZH: t.Name.ZH, NameEN: t.Name.EN})
	}
	for _, t := range in.TicketTypes {
		c.TicketTypes = append(c.TicketTypes, TicketType{ID: t.ID, Quota: t.Quota, InviteOnly: t.InviteOnly})
	}
	if err := c.validate(); err != nil {
		s.fail(w, r, err) // before a ledger exists for an id that may be invalid
		return
	}
	v, err := s.exec(r.Context(), c.ID, true, meta(r), idKey(r, "edition"), func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if err := ed.createEdition(c, emit); err != nil {
			return nil, err
		}
		return ed.Counts(), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/conference/editions/"+c.ID)
	httpserver.WriteJSON(w, http.StatusCreated, v)
}

type capacityInput struct {
	Capacity *int `json:"capacity"`
	// Version, when sent, is the edition's version a preview was made
	// from: the change is refused if the edition has moved on since.
	Version *uint64 `json:"version"`
}

func (s *Service) changeCapacity(w http.ResponseWriter, r *http.Request, session string) {
	var in capacityInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.Capacity == nil {
		s.fail(w, r, &ValidationError{Fields: []FieldError{{"capacity", "is required"}}})
		return
	}
	v, err := s.ChangeCapacity(r.Context(), meta(r), chi.URLParam(r, "edition"), session, *in.Capacity, in.Version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleChangeEdition(w http.ResponseWriter, r *http.Request) {
	s.changeCapacity(w, r, "")
}

func (s *Service) handleChangeSession(w http.ResponseWriter, r *http.Request) {
	s.changeCapacity(w, r, chi.URLParam(r, "session"))
}

type sessionInput struct {
	ID       string    `json:"id"`
	Track    string    `json:"track"`
	Title    string    `json:"title"`
	Speakers []string  `json:"speakers"`
	Room     string    `json:"room"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Capacity int       `json:"capacity"`
}

func (s *Service) handleAddSession(w http.ResponseWriter, r *http.Request) {
	var in sessionInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c := AddSession{ID: in.ID, Track: in.Track, Title: in.Title, Speakers: in.Speakers, Room: in.Room, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Capacity: in.Capacity}
	v, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), idKey(r, "session"), func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if err := ed.addSession(c, emit); err != nil {
			return nil, err
		}
		for _, sc := range ed.Counts().Sessions {
			if sc.ID == c.ID {
				return sc, nil
			}
		}
		return nil, ErrSessionNotFound
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, v)
}

type inviteInput struct {
	Code       string `json:"code"`
	TicketType string `json:"ticket_type"`
	MaxUses    int    `json:"max_uses"`
}

func (s *Service) handleIssueInvite(w http.ResponseWriter, r *http.Request) {
	var in inviteInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	_, err := s.exec(r.Context(), chi.URLParam(r, "edition"), false, meta(r), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.issueInvite(IssueInvite{Code: in.Code, TicketType: in.TicketType, MaxUses: in.MaxUses}, emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, map[string]any{"ticket_type": in.TicketType, "max_uses": in.MaxUses})
}

type registerInput struct {
	Sessions   []string `json:"sessions"`
	TicketType string   `json:"ticket_type"`
	InviteCode string   `json:"invite_code"`
}

// idKey scopes a client's Idempotency-Key to the caller and the command, so
// that the same key sent by two people, or to two endpoints, never maps to
// the same events.
func idKey(r *http.Request, command string) string {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if k == "" {
		return ""
	}
	return "conference\x00" + command + "\x00" + principal(r).UserID + "\x00" + k
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request) {
	var in registerInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 255 {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusBadRequest, httpserver.TypeBadRequest, "Invalid Idempotency-Key",
			"The Idempotency-Key header must be at most 255 characters."))
		return
	}
	edition := chi.URLParam(r, "edition")
	p := principal(r)
	ik := idKey(r, "register")
	regID := edition + "." + events.NewID().String()
	if ik != "" {
		regID = edition + "." + events.IDFromKey(ik, -1).String()
	}
	m := meta(r)
	m.Subject = p.UserID
	v, err := s.exec(r.Context(), edition, false, m, ik, func(ed *Edition, now time.Time, emit emit) (any, error) {
		return ed.register(Register{RegistrationID: regID, Member: p.UserID, Name: p.DisplayName, Sessions: in.Sessions,
			TicketType: in.TicketType, InviteCode: in.InviteCode, IdempotencyKey: key, At: now}, emit)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pl := v.(Placement)
	w.Header().Set("Location", "/api/conference/registrations/"+pl.ID)
	httpserver.WriteJSON(w, http.StatusCreated, pl)
}

// editionOf reads the edition out of a registration id, "<edition>.<uuid>".
func editionOf(regID string) (string, bool) {
	i := strings.LastIndexByte(regID, '.')
	if i <= 0 {
		return "", false
	}
	if _, err := uuid.Parse(regID[i+1:]); err != nil {
		return "", false
	}
	return regID[:i], true
}

// RegistrationView is what the owner sees of their registration.
type RegistrationView struct {
	ID         string      `json:"id"`
	Edition    string      `json:"edition"`
	Status     string      `json:"status"`
	TicketType string      `json:"ticket_type"`
	Sessions   []SeatView  `json:"sessions"`
	CheckedIn  bool        `json:"checked_in"`
	Offers     []OfferView `json:"offers"`
}

type SeatView struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

type OfferView struct {
	Session string    `json:"session,omitempty"`
	Until   time.Time `json:"until"`
}

func viewOf(ed *Edition, reg *Registration) RegistrationView {
	v := RegistrationView{ID: reg.ID, Edition: ed.ID, Status: reg.Status, TicketType: reg.TicketType, CheckedIn: reg.CheckedIn,
		Sessions: []SeatView{}, Offers: []OfferView{}}
	for _, sid := range reg.Sessions {
		st := reg.Seats[sid]
		if st == "" {
			st = events.StatusWaitlisted
		}
		title := sid
		if s := ed.Sessions[sid]; s != nil {
			title = s.Title
		}
		v.Sessions = append(v.Sessions, SeatView{ID: sid, Title: title, Status: st})
	}
	if until, ok := reg.Offers[""]; ok {
		v.Offers = append(v.Offers, OfferView{Until: until})
	}
	for _, sid := range reg.Sessions {
		if until, ok := reg.Offers[sid]; ok {
			v.Offers = append(v.Offers, OfferView{Session: sid, Until: until})
		}
	}
	return v
}

// owned runs f on the caller's registration; others' are not found.
func (s *Service) owned(w http.ResponseWriter, r *http.Request, write bool,
	f func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error)) (any, bool) {
	id := chi.URLParam(r, "id")
	edition, ok := editionOf(id)
	if !ok {
		s.fail(w, r, ErrRegistrationNotFound)
		return nil, false
	}
	member := principal(r).UserID
	m := meta(r)
	m.Subject = member
	v, err := s.exec(r.Context(), edition, false, m, "", func(ed *Edition, now time.Time, emit emit) (any, error) {
		reg, err := ed.owned(id, member)
		if err != nil {
			return nil, err
		}
		return f(ed, reg, now, emit)
	})
	if errors.Is(err, ErrEditionNotFound) {
		err = ErrRegistrationNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return v, true
}

func (s *Service) handleRegistration(w http.ResponseWriter, r *http.Request) {
	v, ok := s.owned(w, r, false, func(ed *Edition, reg *Registration, _ time.Time, _ emit) (any, error) {
		return viewOf(ed, reg), nil
	})
	if ok {
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

func (s *Service) handleCancel(w http.ResponseWriter, r *http.Request) {
	v, ok := s.owned(w, r, true, func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error) {
		if _, err := ed.cancel(reg.ID, reg.Member, now, emit); err != nil {
			return nil, err
		}
		return viewOf(ed, reg), nil
	})
	if ok {
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

func (s *Service) handleAccept(w http.ResponseWriter, r *http.Request) {
	v, ok := s.owned(w, r, true, func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error) {
		if _, err := ed.accept(reg.ID, reg.Member, now, emit); err != nil {
			return nil, err
		}
		return viewOf(ed, reg), nil
	})
	if ok {
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

type timelineResponse struct {
	Entries []Step `json:"entries"`
}

func (s *Service) handleTimeline(w http.ResponseWriter, r *http.Request) {
	v, ok := s.owned(w, r, false, func(_ *Edition, reg *Registration, _ time.Time, _ emit) (any, error) {
		return timelineResponse{Entries: append([]Step{}, reg.History...)}, nil
	})
	if ok {
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}

type ticketResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Service) ticketFor(w http.ResponseWriter, r *http.Request) (ticketResponse, bool) {
	v, ok := s.owned(w, r, false, func(ed *Edition, reg *Registration, now time.Time, _ emit) (any, error) {
		if reg.Status == events.StatusCancelled {
			return nil, ErrTicketRevoked
		}
		if reg.Status != events.StatusConfirmed {
			return nil, ErrNotAdmitted
		}
		exp := ticketExpiry(ed, now)
		tok, err := s.tickets.sign(ed.ID, reg.ID, reg.Member, now, exp)
		return ticketResponse{Token: tok, ExpiresAt: exp}, err
	})
	if !ok {
		return ticketResponse{}, false
	}
	return v.(ticketResponse), true
}

func (s *Service) handleTicket(w http.ResponseWriter, r *http.Request) {
	if t, ok := s.ticketFor(w, r); ok {
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, t)
	}
}

func (s *Service) handleTicketPNG(w http.ResponseWriter, r *http.Request) {
	t, ok := s.ticketFor(w, r)
	if !ok {
		return
	}
	png, err := qrcode.Encode(t.Token, qrcode.Medium, 320)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="ticket.png"`)
	}
	w.Write(png)
}

type revocationsResponse struct {
	Edition        string   `json:"edition"`
	Revoked        []string `json:"revoked"`
	RevokedDevices []string `json:"revoked_devices"`
}

func (s *Service) handleRevocations(w http.ResponseWriter, r *http.Request) {
	b, err := s.GateBundle(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, revocationsResponse{Edition: b.Edition, Revoked: b.Revoked, RevokedDevices: b.RevokedDevices})
}

func (s *Service) handleGateBundle(w http.ResponseWriter, r *http.Request) {
	b, err := s.GateBundle(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, b)
}

type checkInInput struct {
	Token  string `json:"token"`
	Gate   string `json:"gate"`
	Device string `json:"device"`
}

type checkInResponse struct {
	Registration string   `json:"registration"`
	Edition      string   `json:"edition"`
	Name         string   `json:"name,omitempty"`
	Gate         string   `json:"gate"`
	Device       string   `json:"device"`
	Duplicate    bool     `json:"duplicate,omitempty"`
	First        *ScanRef `json:"first,omitempty"`
}

// handleCheckIn is one scan by a device that is online: the same scan
// decision as an upload, answered as the API always has — a second entry
// from the same gate and device is a 200 flagged duplicate, one from
// elsewhere a 409 naming the first entry.
func (s *Service) handleCheckIn(w http.ResponseWriter, r *http.Request) {
	var in checkInInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	var errs fieldErrors
	checkGateName(&errs, "gate", in.Gate)
	checkGateName(&errs, "device", in.Device)
	now := s.now().UTC()
	claims, res, ok := s.verifyScan(Scan{Token: in.Token, ScannedAt: now}, now)
	if !ok {
		switch res.Reason {
		case "token_missing":
			errs.add("token", "is required")
		case "expired":
			errs.add("token", "the ticket has expired")
		default:
			errs.add("token", "is not a ticket signed by this conference")
		}
	}
	if err := errs.err(); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.exec(r.Context(), claims.Edition, false, meta(r), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return ed.scan(claims.Subject, in.Gate, in.Device, now, emit), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res = v.(ScanResult)
	out := checkInResponse{Registration: res.Registration, Edition: claims.Edition, Name: res.Name, Gate: in.Gate, Device: in.Device}
	switch {
	case res.Status == ScanCheckedIn:
	case res.Status == ScanDuplicate && res.Reason == events.ScanRepeat:
		out.Duplicate, out.First = true, res.First
	case res.Status == ScanDuplicate:
		s.fail(w, r, &ScanConflictError{First: res.First})
		return
	case res.Reason == events.ScanDeviceRevoked:
		problem(w, r, http.StatusForbidden, "device-revoked", "Device revoked",
			"This device was reported lost by an organiser; its scans are refused. Use another device.")
		return
	case res.Reason == events.ScanNotAdmitted:
		s.fail(w, r, ErrNotAdmitted)
		return
	case res.Reason == events.ScanRevoked:
		s.fail(w, r, ErrTicketRevoked)
		return
	default:
		s.fail(w, r, ErrRegistrationNotFound)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

type batchInput struct {
	Gate   string `json:"gate"`
	Device string `json:"device"`
	Scans  []struct {
		Token     string          `json:"token"`
		ScannedAt json.RawMessage `json:"scanned_at"`
	} `json:"scans"`
}

type batchResponse struct {
	Results []ScanResult `json:"results"`
}

func (s *Service) handleCheckInBatch(w http.ResponseWriter, r *http.Request) {
	var in batchInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	scans := make([]Scan, len(in.Scans))
	for i, sc := range in.Scans {
		// A scan time in the wrong format fails that scan (as "invalid",
		// scanned_at_missing), not the batch.
		var at time.Time
		if json.Unmarshal(sc.ScannedAt, &at) == nil {
			scans[i] = Scan{Token: sc.Token, ScannedAt: at}
		} else {
			scans[i] = Scan{Token: sc.Token}
		}
	}
	res, err := s.CheckInBatch(r.Context(), meta(r), in.Gate, in.Device, scans)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, batchResponse{Results: res})
}

func (s *Service) handleConflicts(w http.ResponseWriter, r *http.Request) {
	c, err := s.Conflicts(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"conflicts": c})
}

func (s *Service) handleDevices(w http.ResponseWriter, r *http.Request) {
	d, err := s.Devices(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"devices": d})
}

func (s *Service) handleRevokeDevice(w http.ResponseWriter, r *http.Request) {
	edition, device := chi.URLParam(r, "edition"), chi.URLParam(r, "device")
	if err := s.RevokeDevice(r.Context(), meta(r), edition, device); err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"device": device, "revoked": true})
}

func (s *Service) handleGateCounts(w http.ResponseWriter, r *http.Request) {
	c, err := s.GateCounts(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, c)
}

// Attendee is one row of an organiser's session list.
type Attendee struct {
	Position     int    `json:"position"`
	Registration string `json:"registration"`
	Member       string `json:"member"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	CheckedIn    bool   `json:"checked_in"`
}

func (s *Service) attendees(ctx context.Context, edition, session string) ([]Attendee, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) {
		sess := ed.Sessions[session]
		if sess == nil {
			return nil, ErrSessionNotFound
		}
		out := []Attendee{}
		// Seat holders in registration order, then the waitlist in its order.
		for _, reg := range ed.sortedRegs() {
			if st := reg.Seats[session]; st == events.StatusConfirmed || st == events.StatusOffered {
				out = append(out, Attendee{Position: len(out) + 1, Registration: reg.ID, Member: reg.Member, Name: reg.Name, Status: st, CheckedIn: reg.CheckedIn})
			}
		}
		for _, id := range sess.Waitlist {
			reg := ed.Regs[id]
			out = append(out, Attendee{Position: len(out) + 1, Registration: reg.ID, Member: reg.Member, Name: reg.Name, Status: events.StatusWaitlisted})
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]Attendee), nil
}

func (s *Service) handleAttendees(w http.ResponseWriter, r *http.Request) {
	list, err := s.attendees(r.Context(), chi.URLParam(r, "edition"), chi.URLParam(r, "session"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, chi.URLParam(r, "edition"), chi.URLParam(r, "session")))
		cw := csv.NewWriter(w)
		cw.Write([]string{"position", "registration", "member", "name", "status", "checked_in"})
		for _, a := range list {
			cw.Write([]string{strconv.Itoa(a.Position), a.Registration, a.Member, csvSafe(a.Name), a.Status, strconv.FormatBool(a.CheckedIn)})
		}
		cw.Flush()
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"attendees": list})
}

// csvSafe keeps a name from being run as a formula by a spreadsheet.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// fail classifies an error once, at the edge.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.failBackOffice(w, r, err) {
		return
	}
	var invalid *ValidationError
	var dup *DuplicateError
	var scan *ScanConflictError
	var window *WindowError
	switch {
	case errors.As(err, &window):
		if window.NotYet {
			problem(w, r, http.StatusConflict, "registration-not-open", "Registration not open yet",
				"Registration for this edition opens at "+window.Opens.UTC().Format(time.RFC3339)+".")
		} else {
			problem(w, r, http.StatusConflict, "registration-closed", "Registration closed",
				"Registration for this edition closed at "+window.Closes.UTC().Format(time.RFC3339)+".")
		}
	case errors.As(err, &invalid):
		fields := make([]httpserver.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = httpserver.FieldError{Field: f.Field, Message: f.Message}
		}
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
	case errors.As(err, &dup):
		w.Header().Set("Location", "/api/conference/registrations/"+dup.Existing)
		p := httpserver.NewProblem(http.StatusConflict, httpserver.ProblemBase+"already-registered", "Already registered",
			"You are already registered for this edition as "+dup.Existing+"; cancel it first to register anew.")
		p.Instance = "/api/conference/registrations/" + dup.Existing
		httpserver.WriteProblem(w, r, p)
	case errors.As(err, &scan):
		problem(w, r, http.StatusConflict, "ticket-already-used", "Ticket already checked in",
			"This ticket was checked in at gate "+scan.First.Gate+" by device "+scan.First.Device+" at "+
				scan.First.At.UTC().Format(time.RFC3339)+". Send the holder to the help desk.")
	case errors.Is(err, ErrCheckedIn):
		problem(w, r, http.StatusConflict, "checked-in", "Already checked in",
			"This registration was checked in at the gate, so it can no longer be cancelled. Ask an organiser.")
	case errors.Is(err, ErrEditionNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such edition.")
	case errors.Is(err, ErrSessionNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such session in this edition.")
	case errors.Is(err, ErrRegistrationNotFound):
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "There is no such registration of yours.")
	case errors.Is(err, ErrEditionExists):
		problem(w, r, http.StatusConflict, "edition-exists", "Edition exists", "An edition with this id exists already.")
	case errors.Is(err, ErrSessionExists):
		problem(w, r, http.StatusConflict, "session-exists", "Session exists", "A session with this id exists already in this edition.")
	case errors.Is(err, ErrEditionFull):
		problem(w, r, http.StatusConflict, "edition-full", "Edition full", "Every seat of this edition is taken and its waitlist is closed.")
	case errors.Is(err, ErrTicketTypeFull):
		problem(w, r, http.StatusConflict, "ticket-type-full", "Ticket type sold out", "Every ticket of this type is taken; choose another type.")
	case errors.Is(err, ErrCancellationClosed):
		problem(w, r, http.StatusConflict, "cancellation-closed", "Too late to cancel", "The cancellation deadline of this edition has passed.")
	case errors.Is(err, ErrNoOffer):
		problem(w, r, http.StatusConflict, "no-offer", "No open offer", "This registration has no open offer to accept.")
	case errors.Is(err, ErrTicketRevoked):
		problem(w, r, http.StatusConflict, "ticket-revoked", "Ticket revoked", "This registration was cancelled; its ticket is no longer valid.")
	case errors.Is(err, ErrNotAdmitted):
		problem(w, r, http.StatusConflict, "not-admitted", "Not admitted", "This registration is on the waitlist and has no ticket yet.")
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
