package conference

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

const gateEditionJSON = `{"id":"gate-2031","name":{"zh":"2031 云栖大会","en":"Yunqi Conference 2031"},
	"starts_on":"2031-10-14","ends_on":"2031-10-16","venue":"云栖小镇","capacity":10}`

// gateSite is an edition with two confirmed registrations and their
// tickets.
func gateSite(t *testing.T) (s *pageSite, org string, tickets map[string]string) {
	t.Helper()
	s = newPageSite(t)
	org = s.token("org-1", "Organiser", auth.RoleOrganizer)
	if w := s.api("POST", "/api/conference/editions", org, gateEditionJSON); w.Code != http.StatusCreated {
		t.Fatalf("create edition: %d %s", w.Code, w.Body)
	}
	tickets = map[string]string{}
	for _, who := range []string{"ada", "bob"} {
		tok := s.token(who, who)
		w := s.api("POST", "/api/conference/editions/gate-2031/registrations", tok, `{}`)
		if w.Code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", who, w.Code, w.Body)
		}
		var reg struct{ ID string }
		json.Unmarshal(w.Body.Bytes(), &reg)
		w = s.api("GET", "/api/conference/registrations/"+reg.ID+"/ticket", tok, "")
		var tk struct{ Token string }
		if json.Unmarshal(w.Body.Bytes(), &tk); tk.Token == "" {
			t.Fatalf("ticket of %s: %d %s", who, w.Code, w.Body)
		}
		tickets[who] = tk.Token
	}
	return s, org, tickets
}

// gateJSON calls one of the app's endpoints as its script does: with the
// page session, from the app's own origin.
func gateJSON(v *visitor, method, path, body string) pageAnswer {
	v.s.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Accept-Language", v.lang)
	if v.token != "" {
		r.AddCookie(&http.Cookie{Name: testCookie, Value: v.token})
	}
	w := httptest.NewRecorder()
	v.s.server.ServeHTTP(w, r)
	return pageAnswer{status: w.Code, header: w.Header(), body: w.Body.String()}
}

type gateResults struct {
	Results []ScanResult `json:"results"`
}

func uploadScans(t *testing.T, v *visitor, gate, device string, scans ...[2]string) gateResults {
	t.Helper()
	type scan struct {
		Token     string `json:"token"`
		ScannedAt string `json:"scanned_at"`
	}
	in := struct {
		Gate   string `json:"gate"`
		Device string `json:"device"`
		Scans  []scan `json:"scans"`
	}{Gate: gate, Device: device}
	for _, sc := range scans {
		in.Scans = append(in.Scans, scan{sc[0], sc[1]})
	}
	body, _ := json.Marshal(in)
	p := gateJSON(v, "POST", pathGateUpload, string(body))
	if p.status != http.StatusOK {
		t.Fatalf("upload from %s: %d %s", device, p.status, p.body)
	}
	var out gateResults
	if err := json.Unmarshal([]byte(p.body), &out); err != nil || len(out.Results) != len(scans) {
		t.Fatalf("upload from %s answered %s", device, p.body)
	}
	return out
}

func TestGatePagesNeedTheirRoles(t *testing.T) {
	s, _, _ := gateSite(t)
	stranger := s.visitor("", "en")
	member := s.visitor(s.token("eve", "Eve"), "en")
	gate := s.visitor(s.token("gary", "Gary", auth.RoleGate), "en")
	org := s.visitor(s.token("org-1", "Organiser", auth.RoleOrganizer), "en")
	for _, c := range []struct {
		method, path string
		gate, org    int
	}{
		{"GET", "/conference/gate/", 200, 200},
		{"GET", "/conference/gate/gate-2031/bundle", 200, 200},
		{"POST", "/conference/gate/checkins", 200, 200},
		{"GET", "/conference/gate-2031/gate-desk", 403, 200},
		{"GET", "/conference/gate-2031/gate-desk/counts", 403, 200},
		{"POST", "/conference/gate-2031/gate-desk/devices/dev-1/revoke", 403, 200},
	} {
		body := ""
		if c.path == pathGateUpload {
			body = `{"gate":"North","device":"dev-1","scans":[{"token":"x","scanned_at":"2031-10-14T09:00:00Z"}]}`
		}
		if p := gateJSON(stranger, c.method, c.path, body); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/identity/login") {
			t.Errorf("%s %s for a stranger: %d %s", c.method, c.path, p.status, p.header.Get("Location"))
		}
		if p := gateJSON(member, c.method, c.path, body); p.status != http.StatusForbidden {
			t.Errorf("%s %s for a member: %d", c.method, c.path, p.status)
		}
		if p := gateJSON(gate, c.method, c.path, body); p.status != c.gate {
			t.Errorf("%s %s for gate staff: %d, want %d\n%s", c.method, c.path, p.status, c.gate, p.body)
		}
		if p := gateJSON(org, c.method, c.path, body); p.status != c.org {
			t.Errorf("%s %s for an organiser: %d, want %d\n%s", c.method, c.path, p.status, c.org, p.body)
		}
	}
	// The worker and the manifest are fetched without a session.
	if p := stranger.get(pathGateWorker); p.status != 200 || p.header.Get("Cache-Control") != "no-cache" ||
		!strings.Contains(p.header.Get("Content-Type"), "javascript") || !p.has("addEventListener") {
		t.Errorf("sw.js: %d %v", p.status, p.header)
	}
	m := s.visitor("", "zh-CN").get(pathManifest)
	var manifest struct {
		StartURL string `json:"start_url"`
		Icons    []manifestIcon
	}
	json.Unmarshal([]byte(m.body), &manifest)
	if m.status != 200 || m.header.Get("Content-Type") != "application/manifest+json" || !m.has(`"name":"云栖入口签到"`) ||
		!m.has(`"scope":"/conference/gate/"`) || manifest.StartURL != pathGate || len(manifest.Icons) == 0 {
		t.Errorf("manifest: %d %v %s", m.status, m.header, m.body)
	}
}

func TestGateAppPage(t *testing.T) {
	s, _, _ := gateSite(t)
	for _, c := range []struct{ lang, title, code, message string }{
		{"zh-CN", "<h1>入口签到</h1>", "门票代码", `"server_duplicate":"⚠ 服务器提示：已于 {time} 在入口 {gate} 由设备 {device} 签到。"`},
		{"en", "<h1>Gate check-in</h1>", "Ticket code", `"server_duplicate":"⚠ The server says: already checked in at gate {gate} by device {device} at {time}."`},
	} {
		p := s.visitor(s.token("gary", "Gary", auth.RoleGate), c.lang).get(pathGate)
		expect(t, "gate app ("+c.lang+")", p, 200, c.title, `<label for="gate-code">`+c.code, `<label for="gate-name">`,
			`<option value="gate-2031">`, `role="status" aria-live="assertive"`, `id="gate-messages"`, c.message,
			`src="/static/vendor/jsqr/jsQR-1.4.0.js"`, `data-worker="/conference/gate/sw.js"`, `data-chunk="20"`)
		checkDescribedBy(t, p)
		if got := p.header.Get("Permissions-Policy"); !strings.Contains(got, "camera=(self)") {
			t.Errorf("the app may not use the camera: %q", got)
		}
		if strings.Contains(p.body, "conference.gate.") {
			t.Errorf("the app shows a catalogue key:\n%s", p.body)
		}
	}
}

// TestGateUploadsAndDesk: two devices upload the same ticket scanned
// offline; the second is told where it was first checked in, a chunk sent
// again records nothing new, the desk lists the conflict with both scans,
// and a revoked device's uploads are refused and counted.
func TestGateUploadsAndDesk(t *testing.T) {
	s, _, tickets := gateSite(t)
	gate := s.visitor(s.token("gary", "Gary", auth.RoleGate), "en")
	org := s.visitor(s.token("org-1", "Organiser", auth.RoleOrganizer), "zh-CN")

	bundle := gateJSON(gate, "GET", gateBundlePath("gate-2031"), "")
	var b GateBundle
	if json.Unmarshal([]byte(bundle.body), &b); bundle.status != 200 || b.Edition != "gate-2031" || len(b.Keys.Keys) == 0 || b.Keys.Keys[0].Crv != "Ed25519" {
		t.Fatalf("bundle: %d %s", bundle.status, bundle.body)
	}
	if bundle.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the bundle may be cached: %v", bundle.header)
	}

	at1 := time.Now().Add(-60 * time.Second).UTC().Format(time.RFC3339Nano)
	at2 := time.Now().Add(-50 * time.Second).UTC().Format(time.RFC3339Nano)
	first := uploadScans(t, gate, "North", "dev-a", [2]string{tickets["ada"], at1}, [2]string{"not.a.ticket", at1})
	if first.Results[0].Status != ScanCheckedIn || first.Results[1].Status != ScanInvalid {
		t.Fatalf("first upload: %+v", first.Results)
	}
	second := uploadScans(t, gate, "South", "dev-b", [2]string{tickets["ada"], at2}, [2]string{tickets["bob"], at2})
	if r := second.Results[0]; r.Status != ScanDuplicate || r.First == nil || r.First.Gate != "North" || r.First.Device != "dev-a" {
		t.Fatalf("the second device is not told of the first entry: %+v", r)
	}
	if second.Results[1].Status != ScanCheckedIn {
		t.Errorf("bob: %+v", second.Results[1])
	}
	again := uploadScans(t, gate, "South", "dev-b", [2]string{tickets["ada"], at2}, [2]string{tickets["bob"], at2})
	if again.Results[0].Status != ScanDuplicate || again.Results[1].Status != ScanCheckedIn {
		t.Errorf("a resent chunk answered %+v", again.Results)
	}

	desk := org.get(gateDeskPath("gate-2031"))
	expect(t, "gate desk", desk, 200, "<h1>入口</h1>", "冲突报告", "首次入场：入口 North，设备 dev-a，", "再次入场：入口 South，设备 dev-b，", "<code>dev-a</code>", "<code>dev-b</code>",
		"已确认的 2 人中已签到 2 人。", `action="/conference/gate-2031/gate-desk/devices/dev-a/revoke"`)
	if strings.Count(desk.body, `class="gate-flagged"`) != 1 {
		t.Errorf("the conflict report should list one ticket:\n%s", desk.body)
	}
	counts := gateJSON(org, "GET", gateDeskPath("gate-2031")+"/counts", "")
	if counts.status != 200 || !counts.has(`"gate":"North","checked_in":"1"`) || !counts.has(`"gate":"South","checked_in":"1"`) ||
		!counts.has("已签到 2 人") {
		t.Errorf("counts: %d %s", counts.status, counts.body)
	}
	if p := gateJSON(org, "GET", "/conference/nope/gate-desk/counts", ""); p.status != 404 {
		t.Errorf("counts of no edition: %d", p.status)
	}

	// Revoking asks first; only the confirmed form revokes.
	ask := org.post(gateRevokePath("gate-2031", "dev-b"), url.Values{})
	expect(t, "revoke (asked)", ask, 200, "停用设备 dev-b？", `name="confirm" value="yes"`)
	if d, _ := s.svc.Devices(t.Context(), "gate-2031"); len(d) != 2 || d[1].Revoked {
		t.Fatalf("asking revoked the device: %+v", d)
	}
	done := org.post(gateRevokePath("gate-2031", "dev-b"), url.Values{"confirm": {"yes"}})
	if done.status != http.StatusSeeOther || done.header.Get("Location") != gateDeskPath("gate-2031") {
		t.Fatalf("revoke: %d %v", done.status, done.header)
	}
	b = GateBundle{}
	json.Unmarshal([]byte(gateJSON(gate, "GET", gateBundlePath("gate-2031"), "").body), &b)
	if len(b.RevokedDevices) != 1 || b.RevokedDevices[0] != "dev-b" {
		t.Errorf("the bundle does not name the revoked device: %+v", b)
	}
	late := uploadScans(t, gate, "South", "dev-b", [2]string{tickets["bob"], time.Now().UTC().Format(time.RFC3339Nano)})
	if r := late.Results[0]; r.Status != ScanIsRevoked || r.Reason != "device_revoked" {
		t.Errorf("a revoked device's upload: %+v", r)
	}
	desk = s.visitor(org.token, "en").get(gateDeskPath("gate-2031"))
	expect(t, "gate desk after revoking", desk, 200, "Revoked", "Conflict report")
	if !strings.Contains(desk.body, `<td class="num">1</td>`) {
		t.Errorf("the refused upload is not counted:\n%s", desk.body)
	}
	if !strings.Contains(desk.body, "Refused scans from the revoked device dev-b") || !strings.Contains(desk.body, "at gate South") {
		t.Errorf("the refused upload is not listed with its ticket and gate:\n%s", desk.body)
	}
}

func TestGateUploadLimits(t *testing.T) {
	s, _, tickets := gateSite(t)
	gate := s.visitor(s.token("gary", "Gary", auth.RoleGate), "en")
	var scans []string
	for range gateUploadScans + 1 {
		scans = append(scans, `{"token":"x","scanned_at":"2031-10-14T09:00:00Z"}`)
	}
	if p := gateJSON(gate, "POST", pathGateUpload, `{"gate":"N","device":"d","scans":[`+strings.Join(scans, ",")+`]}`); p.status != 422 || !p.has(`"scans"`) {
		t.Errorf("an oversized chunk: %d %s", p.status, p.body)
	}
	if p := gateJSON(gate, "POST", pathGateUpload, `{"gate":" ","device":"d","scans":[{"token":"`+tickets["ada"]+`","scanned_at":"2031-10-14T09:00:00Z"}]}`); p.status != 422 || !p.has(`"gate"`) {
		t.Errorf("a blank gate: %d %s", p.status, p.body)
	}
	if p := gateJSON(gate, "POST", pathGateUpload, `{"gate":`); p.status != 400 {
		t.Errorf("a broken body: %d %s", p.status, p.body)
	}
	// A scan with a time that does not parse fails alone.
	res := uploadScans(t, gate, "North", "dev-a", [2]string{tickets["ada"], "yesterday"}, [2]string{tickets["bob"], time.Now().UTC().Format(time.RFC3339Nano)})
	if res.Results[0].Status != ScanInvalid || res.Results[0].Reason != "scanned_at_missing" || res.Results[1].Status != ScanCheckedIn {
		t.Errorf("results: %+v", res.Results)
	}
}

// TestGateWorkerKeepsFilesThatExist: the worker's shell names files by
// path; one renamed (a new jsQR version) would leave the app unable to
// open offline while every online test still passed.
func TestGateWorkerKeepsFilesThatExist(t *testing.T) {
	s, _, _ := gateSite(t)
	sw := s.visitor("", "en").get(pathGateWorker).body
	app := s.visitor(s.token("gary", "Gary", auth.RoleGate), "en").get(pathGate).body
	static := http.StripPrefix("/static/", web.Static())
	shell := regexp.MustCompile(`"(/static/[^"]+)"`).FindAllStringSubmatch(sw, -1)
	if len(shell) < 4 {
		t.Fatalf("the worker keeps %d static files:\n%s", len(shell), sw)
	}
	for _, m := range shell {
		w := httptest.NewRecorder()
		static.ServeHTTP(w, httptest.NewRequest("GET", m[1], nil))
		if w.Code != http.StatusOK {
			t.Errorf("the worker keeps %s, which answers %d", m[1], w.Code)
		}
	}
	// Every script the app loads is kept.
	for _, m := range regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(app, -1) {
		if !strings.Contains(sw, `"`+m[1]+`"`) {
			t.Errorf("the app loads %s, which the worker does not keep", m[1])
		}
	}
}
