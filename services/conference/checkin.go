package conference

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Check-in happens at gates whose devices may be offline for hours: a
// device verifies tickets itself, queues its scans and uploads them later.
// So a scan is judged when it reaches the edition's ledger, in the order
// scans arrive, and every scan that reaches it is recorded: the first entry
// on a ticket checks it in, any further entry is flagged (to the gate and
// in the organisers' conflict report), never silently accepted. A device's
// scan is identified by device, registration and scan time, so a batch
// uploaded twice (a lost answer, a retry) records nothing new and gets the
// answers it got the first time.

// Scan outcomes as the gate sees them.
const (
	ScanCheckedIn = "checked_in"
	ScanDuplicate = "duplicate"
	ScanIsRevoked = "revoked"
	ScanInvalid   = "invalid"
)

// Limits of one upload and of the names a device gives itself.
const (
	maxBatchScans = 500
	maxGateName   = 64
	// scanClockSkew is how far ahead of the server a device's clock may
	// run before its scan time is taken as wrong.
	scanClockSkew = 2 * time.Minute
)

// Scan is one scan a device made: the ticket's token and when.
type Scan struct {
	Token     string
	ScannedAt time.Time
}

// ScanRef is one entry on a ticket: where, by which device, when scanned.
type ScanRef struct {
	Gate   string    `json:"gate"`
	Device string    `json:"device"`
	At     time.Time `json:"at"`
}

// ScanResult answers one scan.
type ScanResult struct {
	Status       string   `json:"status"`
	Registration string   `json:"registration,omitempty"`
	Name         string   `json:"name,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	First        *ScanRef `json:"first,omitempty"`
}

// Device is what the organisers see of one gate device in an edition.
type Device struct {
	ID        string    `json:"id"`
	Gates     []string  `json:"gates"`
	Scans     int       `json:"scans"`   // entries it recorded
	Refused   int       `json:"refused"` // scans refused (cancelled tickets, revoked device…)
	LastAt    time.Time `json:"last_at,omitzero"`
	Revoked   bool      `json:"revoked"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Refusals lists the scans refused because the device was revoked,
	// each with its ticket: a lost device in someone's hands shows here.
	Refusals []Refusal `json:"refusals"`
}

// Refusal is one refused scan of a revoked device.
type Refusal struct {
	Registration string    `json:"registration"`
	Name         string    `json:"name,omitempty"`
	Gate         string    `json:"gate"`
	At           time.Time `json:"at"`
}

// Conflict is a ticket with more than one entry.
type Conflict struct {
	Registration string    `json:"registration"`
	Name         string    `json:"name,omitempty"`
	Scans        []ScanRef `json:"scans"`
}

// GateCounts are the live check-in figures of an edition.
type GateCounts struct {
	Confirmed int         `json:"confirmed"`
	CheckedIn int         `json:"checked_in"`
	Gates     []GateCount `json:"gates"`
}

type GateCount struct {
	Gate      string `json:"gate"`
	CheckedIn int    `json:"checked_in"`
}

// GateBundle is what a gate device keeps to check tickets offline.
type GateBundle struct {
	Edition        string    `json:"edition"`
	NameZH         string    `json:"name_zh"`
	NameEN         string    `json:"name_en"`
	Keys           auth.JWKS `json:"keys"`
	Revoked        []string  `json:"revoked"`
	RevokedDevices []string  `json:"revoked_devices"`
	At             time.Time `json:"at"`
}

// ErrCheckedIn: a registration whose holder is inside cannot be cancelled.
var ErrCheckedIn = errors.New("registration already checked in")

// gateState is the check-in part of an edition.
type gateState struct {
	scans     map[string]ScanResult // by scanKey
	devices   map[string]*Device
	gateIn    map[string]int
	checkedIn int
}

func scanKey(device, reg string, at time.Time) string {
	return device + "\x00" + reg + "\x00" + at.UTC().Format(time.RFC3339Nano)
}

func (ed *Edition) device(id string) *Device {
	if ed.gate.devices == nil {
		ed.gate.devices = map[string]*Device{}
	}
	d := ed.gate.devices[id]
	if d == nil {
		d = &Device{ID: id, Gates: []string{}, Refusals: []Refusal{}}
		ed.gate.devices[id] = d
	}
	return d
}

func (ed *Edition) noteScan(device, gate string, at time.Time, entry bool) {
	d := ed.device(device)
	if gate != "" && !slices.Contains(d.Gates, gate) {
		d.Gates = append(d.Gates, gate)
		slices.Sort(d.Gates)
	}
	if entry {
		d.Scans++
	} else {
		d.Refused++
	}
	if at.After(d.LastAt) {
		d.LastAt = at
	}
}

func (ed *Edition) rememberScan(device, reg string, at time.Time, res ScanResult) {
	if ed.gate.scans == nil {
		ed.gate.scans = map[string]ScanResult{}
	}
	ed.gate.scans[scanKey(device, reg, at)] = res
}

// applyCheckedIn and applyScanRefused fold the gate's events.
func (ed *Edition) applyCheckedIn(e events.TicketCheckedIn, at time.Time) {
	r := ed.Regs[e.RegistrationID]
	if r == nil {
		return
	}
	scanned := e.ScannedAt
	if scanned.IsZero() {
		scanned = at
	}
	r.Entries = append(r.Entries, ScanRef{Gate: e.Gate, Device: e.Device, At: scanned})
	if !r.CheckedIn {
		r.CheckedIn, r.Gate, r.Device = true, e.Gate, e.Device
		r.History = append(r.History, Step{At: at, Kind: "checked_in"})
		ed.gate.checkedIn++
		if ed.gate.gateIn == nil {
			ed.gate.gateIn = map[string]int{}
		}
		ed.gate.gateIn[e.Gate]++
	}
	ed.noteScan(e.Device, e.Gate, scanned, true)
	ed.rememberScan(e.Device, r.ID, scanned, ScanResult{Status: ScanCheckedIn, Registration: r.ID, Name: r.Name})
}

func (ed *Edition) applyScanRefused(e events.TicketScanRefused, at time.Time) {
	r := ed.Regs[e.RegistrationID]
	if r == nil {
		return
	}
	scanned := e.ScannedAt
	if scanned.IsZero() {
		scanned = at
	}
	reason := e.Reason
	if reason == "already checked in elsewhere" { // the wording of events written before reasons had codes
		reason = events.ScanElsewhere
	}
	res := ScanResult{Registration: r.ID, Name: r.Name, Reason: reason}
	switch reason {
	case events.ScanElsewhere, events.ScanRepeat:
		res.Status = ScanDuplicate
		if len(r.Entries) > 0 {
			first := r.Entries[0]
			res.First = &first
		}
		r.Entries = append(r.Entries, ScanRef{Gate: e.Gate, Device: e.Device, At: scanned})
		ed.noteScan(e.Device, e.Gate, scanned, true)
	case events.ScanNotAdmitted:
		res.Status = ScanInvalid
		ed.noteScan(e.Device, e.Gate, scanned, false)
	default:
		res.Status = ScanIsRevoked
		ed.noteScan(e.Device, e.Gate, scanned, false)
		if reason == events.ScanDeviceRevoked {
			d := ed.device(e.Device)
			d.Refusals = append(d.Refusals, Refusal{Registration: r.ID, Name: r.Name, Gate: e.Gate, At: scanned})
		}
	}
	ed.rememberScan(e.Device, r.ID, scanned, res)
}

func (ed *Edition) applyDeviceRevoked(e events.GateDeviceRevoked, at time.Time) {
	d := ed.device(e.Device)
	d.Revoked, d.RevokedAt = true, at
}

// scan decides one scan of a ticket whose signature the caller verified.
func (ed *Edition) scan(regID, gate, device string, at time.Time, emit emit) ScanResult {
	if prev, ok := ed.gate.scans[scanKey(device, regID, at)]; ok {
		return prev
	}
	r := ed.Regs[regID]
	if r == nil {
		return ScanResult{Status: ScanInvalid, Reason: "unknown_registration"}
	}
	refuse := func(reason string) ScanResult {
		emit(events.TicketScanRefused{EditionID: ed.ID, RegistrationID: r.ID, Gate: gate, Device: device, Reason: reason, ScannedAt: at})
		return ed.gate.scans[scanKey(device, regID, at)]
	}
	switch {
	case ed.gate.devices[device] != nil && ed.gate.devices[device].Revoked:
		return refuse(events.ScanDeviceRevoked)
	case r.Status == events.StatusCancelled:
		return refuse(events.ScanRevoked)
	case r.Status != events.StatusConfirmed:
		return refuse(events.ScanNotAdmitted)
	case !r.CheckedIn:
		emit(events.TicketCheckedIn{EditionID: ed.ID, RegistrationID: r.ID, Gate: gate, Device: device, ScannedAt: at})
		return ed.gate.scans[scanKey(device, regID, at)]
	case r.Gate == gate && r.Device == device:
		return refuse(events.ScanRepeat)
	}
	return refuse(events.ScanElsewhere)
}

func (ed *Edition) revokeDevice(device string, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	checkGateName(&errs, "device", device)
	if err := errs.err(); err != nil {
		return err
	}
	if d := ed.gate.devices[device]; d != nil && d.Revoked {
		return nil // revoking twice changes nothing
	}
	emit(events.GateDeviceRevoked{EditionID: ed.ID, Device: device})
	return nil
}

func checkGateName(errs *fieldErrors, field, v string) {
	if l := len(strings.TrimSpace(v)); l == 0 || l > maxGateName || v != strings.TrimSpace(v) {
		errs.add(field, "is required: 1 to 64 characters, without leading or trailing spaces")
	}
}

func (ed *Edition) conflicts() []Conflict {
	out := []Conflict{}
	for _, r := range ed.sortedRegs() {
		if len(r.Entries) > 1 {
			out = append(out, Conflict{Registration: r.ID, Name: r.Name, Scans: slices.Clone(r.Entries)})
		}
	}
	return out
}

func (ed *Edition) devices() []Device {
	out := make([]Device, 0, len(ed.gate.devices))
	for _, d := range ed.gate.devices {
		c := *d
		c.Gates = slices.Clone(d.Gates)
		c.Refusals = slices.Clone(d.Refusals)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (ed *Edition) gateCounts() GateCounts {
	c := GateCounts{Confirmed: ed.Admitted, CheckedIn: ed.gate.checkedIn, Gates: []GateCount{}}
	for g, n := range ed.gate.gateIn {
		c.Gates = append(c.Gates, GateCount{Gate: g, CheckedIn: n})
	}
	slices.SortFunc(c.Gates, func(a, b GateCount) int { return strings.Compare(a.Gate, b.Gate) })
	return c
}

func (ed *Edition) revoked() []string {
	out := []string{}
	for id, reg := range ed.Regs {
		if reg.Status == events.StatusCancelled {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (ed *Edition) revokedDevices() []string {
	out := []string{}
	for id, d := range ed.gate.devices {
		if d.Revoked {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// verifyScan checks a scanned token as of the moment it was scanned: a
// ticket that expired after an offline scan was still good at the door.
func (s *Service) verifyScan(sc Scan, now time.Time) (ticketClaims, ScanResult, bool) {
	switch {
	case strings.TrimSpace(sc.Token) == "":
		return ticketClaims{}, ScanResult{Status: ScanInvalid, Reason: "token_missing"}, false
	case sc.ScannedAt.IsZero():
		return ticketClaims{}, ScanResult{Status: ScanInvalid, Reason: "scanned_at_missing"}, false
	case sc.ScannedAt.After(now.Add(scanClockSkew)):
		return ticketClaims{}, ScanResult{Status: ScanInvalid, Reason: "scanned_in_future"}, false
	}
	claims, err := s.tickets.verify(sc.Token, sc.ScannedAt)
	switch {
	case errors.Is(err, ErrTicketExpired):
		return claims, ScanResult{Status: ScanInvalid, Reason: "expired"}, false
	case err != nil:
		return claims, ScanResult{Status: ScanInvalid, Reason: "signature"}, false
	case claims.IssuedAt != nil && sc.ScannedAt.Before(claims.IssuedAt.Add(-scanClockSkew)):
		return claims, ScanResult{Status: ScanInvalid, Reason: "scanned_before_issue"}, false
	}
	return claims, ScanResult{}, true
}

// CheckInBatch records a device's scans, each answered on its own: one
// bad scan never fails the others, and a scan sent again gets its first
// answer. Scans of one edition are decided together in its ledger.
func (s *Service) CheckInBatch(ctx context.Context, m events.Metadata, gate, device string, scans []Scan) ([]ScanResult, error) {
	var errs fieldErrors
	checkGateName(&errs, "gate", gate)
	checkGateName(&errs, "device", device)
	if len(scans) == 0 || len(scans) > maxBatchScans {
		errs.add("scans", "must hold 1 to %d scans", maxBatchScans)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	now := s.now()
	results := make([]ScanResult, len(scans))
	type item struct {
		i   int
		reg string
		at  time.Time
	}
	byEdition := map[string][]item{}
	var order []string
	for i, sc := range scans {
		claims, res, ok := s.verifyScan(sc, now)
		if !ok {
			results[i] = res
			continue
		}
		if _, seen := byEdition[claims.Edition]; !seen {
			order = append(order, claims.Edition)
		}
		byEdition[claims.Edition] = append(byEdition[claims.Edition], item{i, claims.Subject, sc.ScannedAt.UTC()})
	}
	for _, edition := range order {
		items := byEdition[edition]
		v, err := s.exec(ctx, edition, false, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
			out := make([]ScanResult, len(items))
			for j, it := range items {
				out[j] = ed.scan(it.reg, gate, device, it.at, emit)
			}
			return out, nil
		})
		if errors.Is(err, ErrEditionNotFound) {
			for _, it := range items {
				results[it.i] = ScanResult{Status: ScanInvalid, Reason: "unknown_edition"}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		for j, res := range v.([]ScanResult) {
			results[items[j].i] = res
		}
	}
	return results, nil
}

// RevokeDevice reports a device lost: its further scans are refused.
func (s *Service) RevokeDevice(ctx context.Context, m events.Metadata, edition, device string) error {
	_, err := s.exec(ctx, edition, false, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.revokeDevice(device, emit)
	})
	return err
}

// Conflicts lists every ticket with more than one entry, with each scan.
func (s *Service) Conflicts(ctx context.Context, edition string) ([]Conflict, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) { return ed.conflicts(), nil })
	if err != nil {
		return nil, err
	}
	return v.([]Conflict), nil
}

// Devices lists the edition's gate devices with their scans.
func (s *Service) Devices(ctx context.Context, edition string) ([]Device, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) { return ed.devices(), nil })
	if err != nil {
		return nil, err
	}
	return v.([]Device), nil
}

// GateCounts are the edition's live check-in figures.
func (s *Service) GateCounts(ctx context.Context, edition string) (GateCounts, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) { return ed.gateCounts(), nil })
	if err != nil {
		return GateCounts{}, err
	}
	return v.(GateCounts), nil
}

// TicketKeys are the public keys tickets are signed with.
func (s *Service) TicketKeys() auth.JWKS {
	return auth.JWKS{Keys: []auth.JWK{auth.Ed25519JWK(s.tickets.kid, s.tickets.public)}}
}

// GateBundle is what a gate device caches to check tickets offline.
func (s *Service) GateBundle(ctx context.Context, edition string) (GateBundle, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) {
		return GateBundle{Edition: ed.ID, NameZH: ed.NameZH, NameEN: ed.NameEN, Keys: s.TicketKeys(),
			Revoked: ed.revoked(), RevokedDevices: ed.revokedDevices(), At: s.now().UTC()}, nil
	})
	if err != nil {
		return GateBundle{}, err
	}
	return v.(GateBundle), nil
}
