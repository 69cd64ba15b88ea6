package conference

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// The gate app runs in the browser of a phone or tablet at the door. It
// must keep working when the venue's network does not, so it is a
// progressive web app: a service worker keeps its shell, the page keeps
// the edition's bundle (ticket keys, cancelled registrations, revoked
// devices) and a queue of scans in the browser, checks tickets itself and
// uploads the queue when the server answers again. The page talks to the
// endpoints below with its page session; the server decides every scan
// again, so what a device decides offline is never the last word.

const (
	pathGate       = "/conference/gate/"
	pathGateWorker = pathGate + "sw.js"
	pathManifest   = pathGate + "manifest.webmanifest"
	pathGateUpload = pathGate + "checkins"
	// gateUploadScans bounds one upload from the page: the pages' body
	// limit (maxFormBytes) holds about thirty tickets, so the app sends
	// its queue in chunks of gateChunk and the server refuses more than
	// this.
	gateUploadScans = 30
	gateChunk       = 20
	// gatePollSeconds is how often the organisers' screen asks for the
	// counts: often enough to watch the doors open, rarely enough for a
	// crowded desk of screens.
	gatePollSeconds = 3
)

func gateBundlePath(edition string) string { return pathGate + url.PathEscape(edition) + "/bundle" }

func gateDeskPath(edition string) string { return editionPath(edition) + "gate-desk" }

func gateRevokePath(edition, device string) string {
	return gateDeskPath(edition) + "/devices/" + url.PathEscape(device) + "/revoke"
}

// gateMessages are the texts the app's script shows, handed to it in the
// page so that it speaks the page's language offline too.
var gateMessages = []string{
	"checked_in", "repeat_local", "not_a_ticket", "signature", "unknown_key", "expired",
	"wrong_edition", "revoked", "device_revoked", "no_crypto", "no_bundle",
	"server_checked_in", "server_duplicate", "server_refused", "pending", "local_only",
	"reason.revoked", "reason.device_revoked", "reason.not_admitted", "reason.signature",
	"reason.expired", "reason.scanned_in_future", "reason.scanned_before_issue",
	"reason.unknown_registration", "reason.unknown_edition", "reason.token_missing",
	"reason.scanned_at_missing", "reason.other",
	"online", "offline", "queue", "queue_empty", "upload_failed", "session_ended", "upload_refused",
	"camera_start", "camera_stop", "camera_unavailable", "camera_on",
	"scan_heading", "offline_ready", "offline_not_ready", "gate_name_invalid", "checking",
}

type gateEdition struct{ ID, Name string }

type gateAppData struct {
	Editions []gateEdition
	Messages map[string]string
	Zone     string
	Chunk    int
	Worker   string
	Scope    string
	Manifest string
	Upload   string
	Bundle   string // with {edition} for the script to fill in
}

func (p *Pages) mountGate(r chi.Router) {
	r.Get("/gate", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, pathGate, http.StatusMovedPermanently)
	})
	r.Get("/gate/", p.gateApp)
	// The worker and the manifest hold nothing private: the browser
	// fetches the manifest without cookies, and the worker's update check
	// must not depend on a session that may have ended at the door.
	r.Get("/gate/sw.js", p.gateWorker)
	r.Get("/gate/manifest.webmanifest", p.gateManifest)
	r.Get("/gate/{edition}/bundle", p.gateBundle)
	r.Post("/gate/checkins", p.gateUpload)
	r.Get("/{edition}/gate-desk", p.gateDesk)
	r.Get("/{edition}/gate-desk/counts", p.gateDeskCounts)
	r.Post("/{edition}/gate-desk/devices/{device}/revoke", p.gateRevoke)
}

// requireRoles lets through a visitor holding one of roles; strangers go
// to the log-in page, others get the forbidden page (or, for the app's
// JSON calls, a problem document).
func (p *Pages) requireRoles(w http.ResponseWriter, r *http.Request, api bool, roles ...string) bool {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return false
	}
	if slices.ContainsFunc(roles, who.HasRole) {
		return true
	}
	if api {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusForbidden, httpserver.ProblemBase+"forbidden",
			"Forbidden", "This needs the gate or organizer role."))
	} else {
		p.forbidden(w, r)
	}
	return false
}

func (p *Pages) gateApp(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, false, auth.RoleGate, auth.RoleOrganizer) {
		return
	}
	tr := p.tr(r)
	eds, err := p.gateEditions(r, tr)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	msgs := make(map[string]string, len(gateMessages))
	for _, k := range gateMessages {
		msgs[k] = tr.T("conference.gate.js." + k)
	}
	// The frame forbids the camera everywhere; the app is the one page
	// that scans.
	w.Header().Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
	p.t.Render(w, r, http.StatusOK, "gate", web.Page{Title: "conference.gate.title", Data: gateAppData{
		Editions: eds, Messages: msgs, Zone: "Asia/Shanghai", Chunk: gateChunk,
		Worker: pathGateWorker, Scope: pathGate, Manifest: pathManifest, Upload: pathGateUpload,
		Bundle: pathGate + "{edition}/bundle",
	}})
}

// gateEditions lists the editions a gate may work at, as the editions
// page finds them.
func (p *Pages) gateEditions(r *http.Request, tr web.Translator) ([]gateEdition, error) {
	ids := p.index.editionIDs()
	for _, id := range p.s.ledgers.IDs() {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	type row struct {
		gateEdition
		startsOn string
	}
	var rows []row
	for _, id := range ids {
		v, err := p.s.read(r.Context(), id, func(ed *Edition) (any, error) { return ed.Counts(), nil })
		if errors.Is(err, ErrEditionNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c := v.(Counts)
		rows = append(rows, row{gateEdition{ID: c.ID, Name: nameIn(tr, c.NameZH, c.NameEN)}, c.StartsOn})
	}
	// The newest edition first: it is the one at the door.
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(b.startsOn, a.startsOn); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]gateEdition, len(rows))
	for i, r := range rows {
		out[i] = r.gateEdition
	}
	return out, nil
}

var staticFiles = web.Static()

// gateWorker serves the service worker from inside the app's path, so
// that its scope covers the app without a Service-Worker-Allowed header,
// and makes browsers revalidate it on every check, so a new version
// reaches the devices as soon as they are online.
func (p *Pages) gateWorker(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/gate/sw.js"
	staticFiles.ServeHTTP(&revalidate{ResponseWriter: w}, r2)
}

type revalidate struct {
	http.ResponseWriter
	wrote bool
}

func (w *revalidate) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *revalidate) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose,omitempty"`
}

func (p *Pages) gateManifest(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	m := map[string]any{
		"name":             tr.T("conference.gate.manifest.name"),
		"short_name":       tr.T("conference.gate.manifest.short_name"),
		"description":      tr.T("conference.gate.manifest.description"),
		"lang":             string(tr.Lang),
		"id":               pathGate,
		"start_url":        pathGate,
		"scope":            pathGate,
		"display":          "standalone",
		"orientation":      "portrait",
		"background_color": "#ffffff",
		"theme_color":      "#1d4ed8",
		"icons": []manifestIcon{
			{Src: "/static/gate/icon-192.png", Sizes: "192x192", Type: "image/png"},
			{Src: "/static/gate/icon-512.png", Sizes: "512x512", Type: "image/png"},
			{Src: "/static/gate/icon-512.png", Sizes: "512x512", Type: "image/png", Purpose: "maskable"},
		},
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Add("Vary", "Accept-Language, Cookie")
	json.NewEncoder(w).Encode(m)
}

func (p *Pages) gateBundle(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, true, auth.RoleGate, auth.RoleOrganizer) {
		return
	}
	b, err := p.s.GateBundle(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, b)
}

type gateUploadInput struct {
	Gate   string `json:"gate"`
	Device string `json:"device"`
	Scans  []struct {
		Token     string `json:"token"`
		ScannedAt string `json:"scanned_at"`
	} `json:"scans"`
}

// gateUpload records a chunk of a device's queue. Each scan gets its own
// answer (a bad one never sinks the rest), and a chunk sent again after a
// lost answer is answered as the first time without recording anything.
func (p *Pages) gateUpload(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, true, auth.RoleGate, auth.RoleOrganizer) {
		return
	}
	var in gateUploadInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		httpserver.WriteProblem(w, r, httpserver.NewProblem(status, httpserver.ProblemBase+"bad-upload",
			"Unreadable upload", "The upload is not a JSON object of gate, device and scans within the size limit."))
		return
	}
	if len(in.Scans) > gateUploadScans {
		p.jsonFail(w, r, &ValidationError{Fields: []FieldError{{"scans", "at most 30 scans per upload"}}})
		return
	}
	scans := make([]Scan, len(in.Scans))
	for i, sc := range in.Scans {
		scans[i].Token = sc.Token
		// A scan time that does not parse fails that scan alone, as the
		// service answers a missing time.
		if at, err := time.Parse(time.RFC3339Nano, sc.ScannedAt); err == nil {
			scans[i].ScannedAt = at
		}
	}
	res, err := p.s.CheckInBatch(r.Context(), meta(r), in.Gate, in.Device, scans)
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, batchResponse{Results: res})
}

// jsonFail answers the app's JSON calls; the messages it shows for these
// come from its own catalogue, so the fields are named, not translated.
func (p *Pages) jsonFail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		fields := map[string]string{}
		for _, f := range ve.Fields {
			fields[f.Field] = f.Message
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]any{
			"type": httpserver.ProblemBase + "validation", "title": "Invalid upload", "status": http.StatusUnprocessableEntity,
			"fields": fields,
		})
	case errors.Is(err, ErrEditionNotFound):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.ProblemBase+"not-found",
			"Not found", "No such edition."))
	default:
		p.fail(w, r, err)
	}
}

// The organisers' gate screen.

type gateDeskData struct {
	Edition, Name string
	CountsHref    string
	Poll          int
	Counts        gateCountsView
	Devices       []gateDeviceRow
	Conflicts     []gateConflictRow
}

type gateCountsView struct {
	Summary string         `json:"summary"`
	Gates   []gateCountRow `json:"gates"`
	At      string         `json:"at"`
}

type gateCountRow struct {
	Gate      string `json:"gate"`
	CheckedIn string `json:"checked_in"`
}

type gateDeviceRow struct {
	ID, Gates, Scans, Refused, LastAt, RevokedAt string
	Revoked                                      bool
	RevokeHref                                   string
	Refusals                                     []gateRefusalRow
}

type gateRefusalRow struct{ Registration, Name, Gate, At string }

type gateConflictRow struct {
	Registration, Name string
	Scans              []gateScanRow
}

type gateScanRow struct{ Gate, Device, At string }

func (p *Pages) countsView(tr web.Translator, c GateCounts) gateCountsView {
	v := gateCountsView{
		Summary: tr.T("conference.gate.desk.summary", "checked_in", tr.Number(int64(c.CheckedIn)), "confirmed", tr.Number(int64(c.Confirmed))),
		Gates:   []gateCountRow{},
		At:      tr.DateTime(p.s.now()),
	}
	for _, g := range c.Gates {
		v.Gates = append(v.Gates, gateCountRow{Gate: g.Gate, CheckedIn: tr.Number(int64(g.CheckedIn))})
	}
	return v
}

func (p *Pages) gateDesk(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, false, auth.RoleOrganizer) {
		return
	}
	edition := chi.URLParam(r, "edition")
	tr := p.tr(r)
	v, err := p.s.read(r.Context(), edition, func(ed *Edition) (any, error) { return ed.Counts(), nil })
	if err != nil {
		p.fail(w, r, err)
		return
	}
	c := v.(Counts)
	counts, err := p.s.GateCounts(r.Context(), edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	devices, err := p.s.Devices(r.Context(), edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	conflicts, err := p.s.Conflicts(r.Context(), edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data := gateDeskData{Edition: edition, Name: nameIn(tr, c.NameZH, c.NameEN), CountsHref: gateDeskPath(edition) + "/counts",
		Poll: gatePollSeconds, Counts: p.countsView(tr, counts)}
	for _, d := range devices {
		row := gateDeviceRow{ID: d.ID, Gates: strings.Join(d.Gates, ", "), Scans: tr.Number(int64(d.Scans)),
			Refused: tr.Number(int64(d.Refused)), Revoked: d.Revoked, RevokeHref: gateRevokePath(edition, d.ID)}
		if !d.LastAt.IsZero() {
			row.LastAt = tr.DateTime(d.LastAt)
		}
		if d.Revoked && !d.RevokedAt.IsZero() {
			row.RevokedAt = tr.DateTime(d.RevokedAt)
		}
		for _, f := range d.Refusals {
			row.Refusals = append(row.Refusals, gateRefusalRow{Registration: f.Registration, Name: f.Name, Gate: f.Gate, At: tr.DateTime(f.At)})
		}
		data.Devices = append(data.Devices, row)
	}
	for _, cf := range conflicts {
		row := gateConflictRow{Registration: cf.Registration, Name: cf.Name}
		for _, s := range cf.Scans {
			row.Scans = append(row.Scans, gateScanRow{Gate: s.Gate, Device: s.Device, At: tr.DateTime(s.At)})
		}
		data.Conflicts = append(data.Conflicts, row)
	}
	p.t.Render(w, r, http.StatusOK, "gate-desk", web.Page{TitleText: tr.T("conference.gate.desk.title_of", "edition", data.Name), Data: data})
}

func (p *Pages) gateDeskCounts(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, true, auth.RoleOrganizer) {
		return
	}
	c, err := p.s.GateCounts(r.Context(), chi.URLParam(r, "edition"))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, p.countsView(p.tr(r), c))
}

type gateRevokeData struct {
	Edition, Name, Device, Action, Back string
}

// gateRevoke asks first, then revokes: a device reported lost by mistake
// would have every scan it makes afterwards refused.
func (p *Pages) gateRevoke(w http.ResponseWriter, r *http.Request) {
	if !p.requireRoles(w, r, false, auth.RoleOrganizer) || !p.parseForm(w, r) {
		return
	}
	edition, device := chi.URLParam(r, "edition"), chi.URLParam(r, "device")
	tr := p.tr(r)
	v, err := p.s.read(r.Context(), edition, func(ed *Edition) (any, error) { return ed.Counts(), nil })
	if err != nil {
		p.fail(w, r, err)
		return
	}
	c := v.(Counts)
	if r.PostForm.Get("confirm") != "yes" {
		p.t.Render(w, r, http.StatusOK, "gate-revoke", web.Page{Title: "conference.gate.revoke.title", Data: gateRevokeData{
			Edition: edition, Name: nameIn(tr, c.NameZH, c.NameEN), Device: device,
			Action: gateRevokePath(edition, device), Back: gateDeskPath(edition),
		}})
		return
	}
	if err := p.s.RevokeDevice(r.Context(), meta(r), edition, device); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			p.ui.BadRequest(w, r, http.StatusUnprocessableEntity)
			return
		}
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "conference.gate.revoke.done")
	http.Redirect(w, r, gateDeskPath(edition), http.StatusSeeOther)
}
