package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// switchableServer serves the app on one address that can be taken away
// and given back: the way a venue's network fails. Chrome's network
// emulation does not reach a service worker's fetches, so the listener
// itself goes.
type switchableServer struct {
	t       *testing.T
	handler http.Handler
	addr    string
	mu      sync.Mutex
	srv     *http.Server
}

func newSwitchableServer(t *testing.T, h http.Handler) *switchableServer {
	t.Helper()
	s := &switchableServer{t: t, handler: h, addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *switchableServer) URL() string { return "http://" + s.addr }

func (s *switchableServer) start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen on %s again: %v", s.addr, err)
	}
	s.addr = l.Addr().String()
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("serve: %v", err)
		}
	}()
}

func (s *switchableServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// waitFor polls a JavaScript condition in the tab until it holds.
func (tb *browserTab) waitFor(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		if tb.eval(`String(!!(`+cond+`))`) == "true" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("%s: %s did not happen (result: %q, network: %q)", tb.name, what,
		tb.eval(`(document.getElementById("gate-result")||{}).textContent||""`),
		tb.eval(`(document.getElementById("gate-network")||{}).textContent||""`))
}

type gateCopy struct {
	lang, deskLang     string
	title              string
	gateA, gateB       string
	admit, repeat      string
	offline, duplicate string
	desk               string
	first, again       string // formats of gate and device
	forged             string
	countsBefore       string
	countsAfter        string
}

var gateJourneys = []gateCopy{
	{lang: "zh-CN", deskLang: "en", title: "入口签到", gateA: "北门", gateB: "南门",
		admit: "✓ 放行", forged: "✗ 拒绝：门票签名不符", repeat: "⚠ 请勿重复放行：已于", offline: "离线", duplicate: "⚠ 服务器提示：已于",
		desk: "Conflict report", countsBefore: "1 of 2 confirmed attendees checked in.",
		countsAfter: "2 of 2 confirmed attendees checked in.", first: "First entry: gate %s, device %s", again: "Entered again: gate %s, device %s"},
	{lang: "en", deskLang: "zh-CN", title: "Gate check-in", gateA: "North", gateB: "South",
		admit: "✓ Admit", forged: "✗ Refused: the ticket's signature does not match", repeat: "⚠ Do not admit again: already checked in at gate North by device", offline: "Offline",
		duplicate: "⚠ The server says: already checked in at gate", desk: "冲突报告",
		countsBefore: "已确认的 2 人中已签到 1 人。", countsAfter: "已确认的 2 人中已签到 2 人。",
		first: "首次入场：入口 %s，设备 %s", again: "再次入场：入口 %s，设备 %s"},
}

// TestBrowserGateOffline: two gate devices load the app while the server
// answers, then the server goes away. One device reopens the app from its
// service worker; both scan the same ticket, and each admits it on its
// own; the first device flags its own repeat. The server comes back, both
// upload, the one that uploads second is told where and by whom the ticket
// was first checked in, and the organisers' gate screen lists the ticket
// with both scans. Once in each language, the organiser reading the other.
func TestBrowserGateOffline(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := newSwitchableServer(t, a.app.server)

	a.signUp("org@example.com", "Organiser")
	a.signUp("gate@example.com", "Gate staff")
	for _, g := range []struct{ email, role string }{{"org@example.com", auth.RoleOrganizer}, {"gate@example.com", auth.RoleGate}} {
		if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), g.email, g.role, "test"); err != nil {
			t.Fatal(err)
		}
	}
	org, _ := a.logIn("org@example.com")

	for _, c := range gateJourneys {
		t.Run(c.lang, func(t *testing.T) {
			edition := "gate-" + strings.ToLower(c.lang)
			body := `{"id":"` + edition + `","name":{"zh":"2031 云栖大会","en":"Yunqi Conference 2031"},
				"starts_on":"2031-10-14","ends_on":"2031-10-16","venue":"云栖小镇","capacity":100}`
			if w := a.do("POST", "/api/conference/editions", org, body); w.Code != http.StatusCreated {
				t.Fatalf("create edition: %d %s", w.Code, w.Body)
			}
			email := "attendee-" + c.lang + "@example.com"
			a.signUp(email, "杜勇")
			member, _ := a.logIn(email)
			w := a.do("POST", "/api/conference/editions/"+edition+"/registrations", member, `{}`)
			var reg struct{ ID string }
			if json.Unmarshal(w.Body.Bytes(), &reg); w.Code != http.StatusCreated {
				t.Fatalf("register: %d %s", w.Code, w.Body)
			}
			w = a.do("GET", "/api/conference/registrations/"+reg.ID+"/ticket", member, "")
			var ticket struct{ Token string }
			if json.Unmarshal(w.Body.Bytes(), &ticket); ticket.Token == "" {
				t.Fatalf("ticket: %d %s", w.Code, w.Body)
			}

			otherEmail := "other-" + c.lang + "@example.com"
			a.signUp(otherEmail, "Bob Chen")
			other, _ := a.logIn(otherEmail)
			w = a.do("POST", "/api/conference/editions/"+edition+"/registrations", other, `{}`)
			var otherReg struct{ ID string }
			if json.Unmarshal(w.Body.Bytes(), &otherReg); w.Code != http.StatusCreated {
				t.Fatalf("register: %d %s", w.Code, w.Body)
			}
			w = a.do("GET", "/api/conference/registrations/"+otherReg.ID+"/ticket", other, "")
			var ot struct{ Token string }
			json.Unmarshal(w.Body.Bytes(), &ot)
			otherTicket := ot.Token

			// Both devices load the app and its bundle while online.
			tabs := map[string]*browserTab{}
			devices := map[string]string{}
			for _, d := range []struct{ name, gate string }{{"A", c.gateA}, {"B", c.gateB}} {
				tb := openTab(t, browser, srv.URL(), "device-"+d.name, c.lang)
				tb.logIn("gate@example.com")
				// The language goes into the cookie, which the service
				// worker's requests carry too.
				tb.open("/conference/gate/?lang=" + c.lang)
				if got := tb.text("h1"); got != c.title {
					t.Fatalf("%s: the app's heading %q", d.name, got)
				}
				tb.run("choose the edition", chromedp.SetValue(chromedp.CSS("#gate-edition"), edition))
				tb.fill("#gate-name", d.gate)
				tb.run("start", chromedp.Click(chromedp.CSS("#gate-start")))
				tb.waitFor("the bundle is kept", `localStorage.getItem("yunqi.gate.bundle.`+edition+`")`)
				tb.waitFor("the app is kept for offline use", `document.getElementById("gate-app").dataset.offlineReady === "true"`)
				devices[d.name] = tb.text("#gate-device")
				if !strings.HasPrefix(devices[d.name], "dev-") {
					t.Fatalf("%s: device id %q", d.name, devices[d.name])
				}
				tb.step("online")
				tabs[d.name] = tb
			}
			if devices["A"] == devices["B"] {
				t.Fatalf("two devices share the id %s", devices["A"])
			}

			srv.stop()

			// Device A reopens the app with no server: the worker has it.
			tabA, tabB := tabs["A"], tabs["B"]
			tabA.open("/conference/gate/")
			if got := tabA.text("h1"); got != c.title {
				t.Fatalf("the app did not open offline: heading %q", got)
			}
			tabA.waitFor("the app knows it is offline", `document.getElementById("gate-network").textContent.includes(`+jsString(c.offline)+`)`)
			tabA.step("offline-reopened")

			// A forged ticket is refused offline and never queued.
			forged := []byte(ticket.Token)
			if i := len(forged) - 10; forged[i] == 'A' {
				forged[i] = 'B'
			} else {
				forged[i] = 'A'
			}
			tabB.fill("#gate-code", string(forged))
			tabB.run("check a forged ticket", chromedp.Click(chromedp.CSS("#gate-check")))
			tabB.waitFor("the forgery is refused", `document.getElementById("gate-result").dataset.kind === "bad"`)
			if got := tabB.text("#gate-result"); !strings.HasPrefix(got, c.forged) {
				t.Errorf("the forged ticket reads %q", got)
			}
			if tabB.eval(`document.getElementById("gate-app").dataset.queued`) != "0" {
				t.Error("a forged ticket was queued")
			}

			for _, tb := range []*browserTab{tabA, tabB} {
				tb.fill("#gate-code", ticket.Token)
				tb.run("check the ticket", chromedp.Click(chromedp.CSS("#gate-check")))
				tb.waitFor("the ticket is admitted", `document.getElementById("gate-result").dataset.kind === "ok"`)
				if got := tb.text("#gate-result"); !strings.HasPrefix(got, c.admit) || !strings.Contains(got, reg.ID) {
					t.Errorf("%s: the offline scan reads %q", tb.name, got)
				}
				if tb.eval(`document.getElementById("gate-app").dataset.queued`) != "1" {
					t.Errorf("%s: the scan is not queued", tb.name)
				}
				tb.step("offline-admitted")
			}
			// A's own repeat is flagged, and not queued again.
			tabA.fill("#gate-code", ticket.Token)
			tabA.run("check it again", chromedp.Click(chromedp.CSS("#gate-check")))
			tabA.waitFor("the repeat is flagged", `document.getElementById("gate-result").dataset.kind === "warn"`)
			if got := tabA.text("#gate-result"); !strings.HasPrefix(got, c.repeat) || !strings.Contains(got, devices["A"]) {
				t.Errorf("the repeat reads %q", got)
			}
			if tabA.eval(`document.getElementById("gate-app").dataset.queued`) != "1" {
				t.Error("a flagged repeat was queued")
			}
			tabA.step("offline-repeat")

			// The server returns and both devices upload.
			srv.start()
			for _, tb := range []*browserTab{tabA, tabB} {
				tb.run("upload", chromedp.Click(chromedp.CSS("#gate-upload")))
			}
			for _, tb := range []*browserTab{tabA, tabB} {
				tb.waitFor("the queue is uploaded", `document.getElementById("gate-app").dataset.queued === "0"`)
			}
			answer := func(tb *browserTab) string {
				return tb.eval(`document.querySelector('#gate-log li[data-server]:not([data-server=""])').dataset.server`)
			}
			first, second, firstName, secondName := tabA, tabB, "A", "B"
			if answer(tabA) == "duplicate" {
				first, second, firstName, secondName = tabB, tabA, "B", "A"
			}
			if got := answer(first); got != "checked_in" {
				t.Fatalf("the first upload was answered %q", got)
			}
			if got := answer(second); got != "duplicate" {
				t.Fatalf("the second upload was answered %q", got)
			}
			gates := map[string]string{"A": c.gateA, "B": c.gateB}
			firstGate := gates[firstName]
			want := strings.Join([]string{firstGate, devices[firstName]}, "|")
			for _, where := range []string{"#gate-result", `#gate-log li[data-server="duplicate"] .gate-log-server`} {
				got := second.text(where)
				if !strings.HasPrefix(got, c.duplicate) || !strings.Contains(got, firstGate) || !strings.Contains(got, devices[firstName]) {
					t.Errorf("%s (%s) reads %q, want the first entry %s", where, secondName, got, want)
				}
			}
			second.step("uploaded-duplicate")

			// The organisers' gate screen lists the ticket with both scans.
			desk := openTab(t, browser, srv.URL(), "organiser", c.deskLang)
			desk.logIn("org@example.com")
			desk.open("/conference/" + edition + "/gate-desk")
			conflicts := desk.text("#gate-conflicts")
			for _, s := range []string{c.desk, reg.ID, "杜勇",
				fmt.Sprintf(c.first, firstGate, devices[firstName]), fmt.Sprintf(c.again, gates[secondName], devices[secondName])} {
				if !strings.Contains(conflicts, s) {
					t.Errorf("the conflict report lacks %q:\n%s", s, conflicts)
				}
			}
			devicesText := desk.text("#gate-devices")
			if !strings.Contains(devicesText, devices["A"]) || !strings.Contains(devicesText, devices["B"]) {
				t.Errorf("the devices list lacks a device:\n%s", devicesText)
			}
			if got := desk.text("#gate-summary"); got != c.countsBefore {
				t.Errorf("the check-in count reads %q, want %q", got, c.countsBefore)
			}
			desk.step("gate-desk")

			// A check-in at another gate shows on the open screen.
			gateToken, _ := a.logIn("gate@example.com")
			if w := a.do("POST", "/api/conference/checkins", gateToken,
				`{"token":"`+otherTicket+`","gate":"East","device":"dev-east"}`); w.Code != http.StatusOK {
				t.Fatalf("check in at East: %d %s", w.Code, w.Body)
			}
			desk.waitFor("the counts update", `document.getElementById("gate-summary").textContent === `+jsString(c.countsAfter)+
				` && document.getElementById("gate-counts-body").textContent.includes("East")`)
			desk.step("gate-desk-live")
		})
	}
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// TestBrowserGateCamera: the gate app reads a ticket's QR code from the
// camera. Chromium's fake capture device plays a still of the ticket's
// own QR image (the one the registration page shows), so the whole path
// runs: getUserMedia, frames drawn to a canvas, jsQR, the signature check.
func TestBrowserGateCamera(t *testing.T) {
	exe := findChromium(t)
	a := newTestApp(t, "")
	srv := newSwitchableServer(t, a.app.server)
	a.signUp("org@example.com", "Organiser")
	a.signUp("gate@example.com", "Gate staff")
	a.signUp("ada@example.com", "杜勇")
	for _, g := range []struct{ email, role string }{{"org@example.com", auth.RoleOrganizer}, {"gate@example.com", auth.RoleGate}} {
		if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), g.email, g.role, "test"); err != nil {
			t.Fatal(err)
		}
	}
	org, _ := a.logIn("org@example.com")
	if w := a.do("POST", "/api/conference/editions", org, `{"id":"gate-camera","name":{"zh":"2031 云栖大会","en":"Yunqi Conference 2031"},
		"starts_on":"2031-10-14","ends_on":"2031-10-16","venue":"云栖小镇","capacity":100}`); w.Code != http.StatusCreated {
		t.Fatalf("create edition: %d %s", w.Code, w.Body)
	}
	ada, _ := a.logIn("ada@example.com")
	w := a.do("POST", "/api/conference/editions/gate-camera/registrations", ada, `{}`)
	var reg struct{ ID string }
	if json.Unmarshal(w.Body.Bytes(), &reg); w.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	w = a.do("GET", "/api/conference/registrations/"+reg.ID+"/ticket.png", ada, "")
	qr, err := png.Decode(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("ticket.png: %d %v", w.Code, err)
	}
	video := filepath.Join(t.TempDir(), "ticket.y4m")
	if err := os.WriteFile(video, y4mStill(qr, 640, 480), 0o644); err != nil {
		t.Fatal(err)
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	tb := openTab(t, browser, srv.URL(), "camera", "en")
	tb.logIn("gate@example.com")
	tb.open("/conference/gate/")
	tb.run("choose the edition", chromedp.SetValue(chromedp.CSS("#gate-edition"), "gate-camera"))
	tb.fill("#gate-name", "North")
	tb.run("start", chromedp.Click(chromedp.CSS("#gate-start")))
	tb.waitFor("the bundle is kept", `localStorage.getItem("yunqi.gate.bundle.gate-camera")`)
	tb.run("turn the camera on", chromedp.Click(chromedp.CSS("#gate-camera")))
	tb.waitFor("the camera reads the ticket", `document.getElementById("gate-result").dataset.kind === "ok"`)
	if got := tb.text("#gate-result"); !strings.HasPrefix(got, "✓ Admit") || !strings.Contains(got, reg.ID) {
		t.Errorf("the camera scan reads %q", got)
	}
	if got := tb.eval(`document.getElementById("gate-camera").getAttribute("aria-pressed")`); got != "true" {
		t.Errorf("the camera button is not pressed: %q", got)
	}
	tb.step("camera")
	// The same ticket held in front of the camera is one scan, not a
	// stream of repeats.
	time.Sleep(time.Second)
	if got := tb.eval(`String(document.querySelectorAll("#gate-log li").length)`); got != "1" {
		t.Errorf("one ticket in front of the camera made %s scans", got)
	}
	tb.run("turn the camera off", chromedp.Click(chromedp.CSS("#gate-camera")))
	if got := tb.eval(`String(document.getElementById("gate-video").hidden)`); got != "true" {
		t.Error("the camera view stays after turning it off")
	}
	tb.waitFor("the scan is uploaded", `document.getElementById("gate-app").dataset.queued === "0"`)
}

// y4mStill is a one-frame YUV4MPEG2 video of img centred on white, the
// format Chromium's fake capture device plays.
func y4mStill(img image.Image, w, h int) []byte {
	canvas := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	b := img.Bounds()
	at := image.Pt((w-b.Dx())/2, (h-b.Dy())/2)
	draw.Draw(canvas, image.Rectangle{Min: at, Max: at.Add(b.Size())}, img, b.Min, draw.Src)
	var out bytes.Buffer
	fmt.Fprintf(&out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	out.Write(canvas.Pix) // luma; grey has neutral chroma
	out.Write(bytes.Repeat([]byte{128}, 2*(w/2)*(h/2)))
	return out.Bytes()
}
