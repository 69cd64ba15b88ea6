package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// The notifier's browser tests: the bell in the frame, the inbox and its
// "open" form, My Yunqi, and, against a real SMTP server (mailpit), the
// mail that offers a freed seat, read and followed as a person would.

// notifyCopy is what the notifier's journey reads, per language.
type notifyCopy struct {
	lang, edition string
	bell          string // the bell's label, with %d for the unread count
	seat          string // in the seat offer's title
	open          string // the inbox's "open" button
	confirmed     string // the registration's status once the seat is taken
	// My Yunqi's words for the registration and its timeline.
	meConfirmed, waitlistedEntry, offeredEntry, acceptedEntry string
	verified                                                  string // the verification page's heading
}

var notifyJourneys = []notifyCopy{
	{lang: "zh-CN", edition: "2033 云栖开发者大会", bell: "站内信：%d 条未读", seat: "座位", open: "打开", confirmed: "已确认",
		meConfirmed: "已确认", waitlistedEntry: "已报名，进入候补", offeredEntry: "有座位留给你，保留到", acceptedEntry: "接受了保留的座位",
		verified: "电子邮箱已确认"},
	{lang: "en", edition: "Developer Conference 2033", bell: "Notifications: %d unread", seat: "seat", open: "Open", confirmed: "Confirmed",
		meConfirmed: "Confirmed", waitlistedEntry: "Registered; on the waitlist", offeredEntry: "A seat was offered, held until",
		acceptedEntry: "Accepted the offered seat", verified: "Email address confirmed"},
}

// fullEdition schedules a one-seat edition with a waitlist.
func fullEdition(t *testing.T, a *testApp, org, id string) {
	t.Helper()
	body := `{"id":"` + id + `","name":{"zh":"2033 云栖开发者大会","en":"Developer Conference 2033"},
		"starts_on":"2033-10-24","ends_on":"2033-10-25","venue":"云栖小镇","capacity":1,"edition_waitlist":5}`
	if w := a.do("POST", "/api/conference/editions", org, body); w.Code != http.StatusCreated {
		t.Fatalf("create edition: %d %s", w.Code, w.Body)
	}
}

// register places a registration for the whole edition through the API.
func register(t *testing.T, a *testApp, token, edition, want string) string {
	t.Helper()
	w := a.do("POST", "/api/conference/editions/"+edition+"/registrations", token, `{}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("register for %s: %d %s", edition, w.Code, w.Body)
	}
	var out struct{ ID, Status string }
	json.Unmarshal(w.Body.Bytes(), &out)
	if out.Status != want {
		t.Fatalf("registration for %s is %q, want %q: %s", edition, out.Status, want, w.Body)
	}
	return out.ID
}

// takeAndFree: a member takes the edition's one seat, the waiting member
// queues behind, and the first cancels, which offers the seat on.
func takeAndFree(t *testing.T, a *testApp, edition, holderEmail, waiter string) (waitingReg string) {
	t.Helper()
	holder, _ := a.logIn(holderEmail)
	held := register(t, a, holder, edition, "confirmed")
	waitingReg = register(t, a, waiter, edition, "waitlisted")
	if w := a.do("DELETE", "/api/conference/registrations/"+held, holder, ""); w.Code != http.StatusOK {
		t.Fatalf("cancel the held seat: %d %s", w.Code, w.Body)
	}
	w := a.do("GET", "/api/conference/registrations/"+waitingReg, waiter, "")
	if !strings.Contains(w.Body.String(), `"offered"`) {
		t.Fatalf("the waiting registration has no offer after the cancellation: %d %s", w.Code, w.Body)
	}
	return waitingReg
}

// inboxUnread is the unread count the notifier's API reports.
func inboxUnread(t *testing.T, a *testApp, token string) int {
	t.Helper()
	w := a.do("GET", "/api/notify/inbox", token, "")
	if w.Code != http.StatusOK {
		t.Fatalf("inbox: %d %s", w.Code, w.Body)
	}
	var out struct{ Unread int }
	json.Unmarshal(w.Body.Bytes(), &out)
	return out.Unread
}

// hasNote reports whether the API's inbox has a notification of kind.
func hasNote(t *testing.T, a *testApp, token, kind string) bool {
	t.Helper()
	w := a.do("GET", "/api/notify/inbox", token, "")
	return w.Code == http.StatusOK && strings.Contains(w.Body.String(), `"kind":"`+kind+`"`)
}

// bell reads the frame's bell: its count (0 when hidden) and its label.
func (tb *browserTab) bell() (int, string) {
	tb.t.Helper()
	raw := tb.eval(`(function () {
		var b = document.querySelector("a.bell"), c = b && b.querySelector(".bell-count");
		if (!b) { return "none"; }
		return JSON.stringify({count: c && !c.hidden ? c.textContent.trim() : "", label: b.getAttribute("aria-label") || ""});
	})()`)
	if raw == "none" {
		tb.t.Fatalf("%s: the page %s has no bell", tb.name, tb.eval(`location.pathname`))
	}
	var b struct{ Count, Label string }
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		tb.t.Fatalf("%s: the bell: %v (%s)", tb.name, err, raw)
	}
	if b.Count == "" {
		return 0, b.Label
	}
	n, err := strconv.Atoi(b.Count)
	if err != nil {
		tb.t.Fatalf("%s: the bell's count %q is not a number", tb.name, b.Count)
	}
	return n, b.Label
}

// settledBell waits until the bell shows want and its label agrees: the
// frame draws it, the page's script then asks /notify/unread again.
func (tb *browserTab) settledBell(c notifyCopy, want int) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, label := tb.bell()
		if n == want && label == fmt.Sprintf(c.bell, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: on %s the bell shows %d with label %q, want %d and %q", tb.name, tb.eval(`location.pathname`),
				n, label, want, fmt.Sprintf(c.bell, want))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reloadUntil opens path again until the JavaScript condition holds, for
// what a projection shows a moment after the write.
func (tb *browserTab) reloadUntil(path, what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tb.open(path)
		if tb.eval(`String(!!(`+cond+`))`) == "true" {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: %s is not shown on %s:\n%s", tb.name, what, path, tb.eval(`document.querySelector("main").innerText`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inboxItem is the inbox's row of a kind, as the page shows it.
type inboxItem struct {
	Found         bool
	Title         string
	Unread        bool
	Open, Mark    string
	HiddenReadTag string
}

func (tb *browserTab) inboxItem(kind string) inboxItem {
	tb.t.Helper()
	raw := tb.eval(`(function () {
		var t = document.querySelector(` + jsString(`.inbox-item .inbox-title[data-kind="`+kind+`"]`) + `);
		if (!t) { return JSON.stringify({Found: false}); }
		var li = t.closest("li.inbox-item"), open = li.querySelector('button[name="open"]'),
			mark = li.querySelector('button:not([name="open"])'), read = li.querySelector(".inbox-state .visually-hidden");
		return JSON.stringify({Found: true, Title: t.textContent.trim(), Unread: li.classList.contains("unread"),
			Open: open ? open.textContent.trim() : "", Mark: mark ? mark.textContent.trim() : "",
			HiddenReadTag: read ? read.textContent.trim() : ""});
	})()`)
	var it inboxItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		tb.t.Fatalf("%s: the inbox item %s: %v (%s)", tb.name, kind, err, raw)
	}
	return it
}

// tagButton gives the button of kind's inbox row an id to click it by.
func (tb *browserTab) tagButton(kind, button, id string) {
	tb.t.Helper()
	sel := `button[name="open"]`
	if button == "mark" {
		sel = `button:not([name="open"])`
	}
	ok := tb.eval(`(function () {
		var t = document.querySelector(` + jsString(`.inbox-item .inbox-title[data-kind="`+kind+`"]`) + `);
		var b = t && t.closest("li.inbox-item").querySelector(` + jsString(sel) + `);
		if (!b) { return "no"; }
		b.id = ` + jsString(id) + `;
		return "yes";
	})()`)
	if ok != "yes" {
		tb.t.Fatalf("%s: the %s row has no %s button", tb.name, kind, button)
	}
}

// TestBrowserNotificationsBellAndInbox: a member waits for a full
// edition's one seat; the holder cancels and the seat is offered. On an
// unrelated page the bell counts the unread notifications and says so in
// the page's language; the inbox shows the offer titled in that language;
// "Open" reads it and leads to the registration, where the member accepts;
// back in the inbox the offer is read and the bell has gone down. My
// Yunqi lists the registration with what happened to it. Once per
// language.
func TestBrowserNotificationsBellAndInbox(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)

	a.signUp("org@example.com", "Organiser")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	org, _ := a.logIn("org@example.com")

	for _, c := range notifyJourneys {
		t.Run(c.lang, func(t *testing.T) {
			edition := "notify-" + strings.ToLower(c.lang)
			fullEdition(t, a, org, edition)
			holderEmail, waiterEmail := "holder-"+c.lang+"@example.com", "waiter-"+c.lang+"@example.com"
			a.signUp(holderEmail, "杜勇")
			a.signUp(waiterEmail, "Bob Chen")
			waiter, _ := a.logIn(waiterEmail)
			reg := takeAndFree(t, a, edition, holderEmail, waiter)
			regPath := "/conference/registrations/" + reg
			// Waitlisted, then offered: two unread, once the notifier has
			// read the log that far.
			waitUntil(t, func() bool { return hasNote(t, a, waiter, "seat_offered") })
			before := inboxUnread(t, a, waiter)
			if before < 1 {
				t.Fatalf("the inbox has %d unread with a seat offered", before)
			}

			tab := openTab(t, browser, srv.URL, "member", c.lang)
			tab.logIn(waiterEmail) // lands on /conference/, which is not the notifier's
			tab.settledBell(c, before)
			tab.step("bell")

			// The bell leads to the inbox, where the offer waits, unread.
			tab.clickAndWait("a.bell", "/notify/")
			if got := tab.eval(`document.querySelector("a.bell").getAttribute("aria-current") || ""`); got != "page" {
				t.Errorf("on the inbox the bell is not marked as the current page (aria-current %q)", got)
			}
			offer := tab.inboxItem("seat_offered")
			if !offer.Found {
				t.Fatalf("the inbox has no seat offer:\n%s", tab.text("main"))
			}
			if !strings.Contains(offer.Title, c.seat) || !strings.Contains(offer.Title, c.edition) {
				t.Errorf("the offer is titled %q, want it to name the %s and %q", offer.Title, c.seat, c.edition)
			}
			if !offer.Unread {
				t.Error("the offer is not shown as unread")
			}
			if offer.Open != c.open {
				t.Errorf("the offer's open button reads %q, want %q", offer.Open, c.open)
			}
			if w := tab.inboxItem("registration_waitlisted"); !w.Found || !w.Unread {
				t.Errorf("the waitlist notification is missing or read: %+v", w)
			}
			tab.settledBell(c, before)
			tab.step("inbox")

			// "Open" reads it and goes to the registration, where the bell
			// shows one fewer and the offer can be accepted.
			tab.tagButton("seat_offered", "open", "open-offer")
			tab.clickAndWait("#open-offer", regPath)
			tab.settledBell(c, before-1)
			tab.run("the offer is shown", chromedp.WaitVisible(chromedp.CSS("#accept")))
			tab.step("registration-offer")
			tab.clickAndWait("#accept", regPath)
			if got := tab.text("#reg-status"); got != c.confirmed {
				t.Errorf("the status after accepting is %q, want %q", got, c.confirmed)
			}
			if tab.eval(`String(!!document.querySelector("#accept"))`) != "false" {
				t.Error("the accept button is still there after accepting")
			}
			tab.step("registration-accepted")

			// Back in the inbox: the offer is read; accepting brought the
			// confirmation, unread, and the bell counts it.
			tab.reloadUntil("/notify/", "the confirmation",
				`document.querySelector('.inbox-item .inbox-title[data-kind="registration_confirmed"]')`)
			offer = tab.inboxItem("seat_offered")
			if !offer.Found || offer.Unread || offer.Mark != "" || offer.HiddenReadTag == "" {
				t.Errorf("after opening it, the offer reads %+v, want it read, without a mark-as-read button", offer)
			}
			after := inboxUnread(t, a, waiter)
			if after != before { // one read, one new
				t.Errorf("unread after accepting: %d, want %d (the offer read, the confirmation new)", after, before)
			}
			tab.settledBell(c, after)
			tab.step("inbox-after")

			// Marking the confirmation read takes the bell down once more.
			tab.tagButton("registration_confirmed", "mark", "mark-confirmed")
			tab.clickAndWait("#mark-confirmed", "/notify/")
			if it := tab.inboxItem("registration_confirmed"); it.Unread {
				t.Error("the confirmation is still unread after marking it read")
			}
			tab.settledBell(c, after-1)
			if got := inboxUnread(t, a, waiter); got != after-1 {
				t.Errorf("unread after marking one read: %d, want %d", got, after-1)
			}

			// My Yunqi lists the registration with its timeline.
			tab.reloadUntil("/notify/me", "the accepted offer on the timeline",
				`document.querySelector('#me-regs + ul a[href=`+jsString(regPath)+`]') &&
				 document.querySelector('#me-regs + ul').textContent.includes(`+jsString(c.acceptedEntry)+`)`)
			item := `document.querySelector('#me-regs + ul a[href=` + jsString(regPath) + `]').closest("li")`
			if got := tab.eval(item + `.querySelector("h3").textContent.trim()`); got != c.edition {
				t.Errorf("My Yunqi names the registration %q, want %q", got, c.edition)
			}
			if got := tab.eval(item + `.querySelector("p.muted").textContent.trim()`); got != c.meConfirmed {
				t.Errorf("My Yunqi gives the registration's status as %q, want %q", got, c.meConfirmed)
			}
			tab.run("open the timeline", chromedp.Evaluate[chromedp.Void](item+`.querySelector("details summary").click()`))
			timeline := tab.eval(item + `.querySelector("ol.timeline").innerText`)
			for _, want := range []string{c.waitlistedEntry, c.offeredEntry, c.acceptedEntry} {
				if !strings.Contains(timeline, want) {
					t.Errorf("My Yunqi's timeline lacks %q:\n%s", want, timeline)
				}
			}
			if strings.Contains(tab.eval(`document.querySelector("main").innerText`), "杜勇") {
				t.Error("My Yunqi names the person whose seat was freed")
			}
			tab.step("me")
		})
	}
}

// --- mail through mailpit

// findMailpit is the mailpit binary: $YUNQI_MAILPIT, then $PATH, then
// $(go env GOPATH)/bin. Without one the test skips, unless
// YUNQI_REQUIRE_MAILPIT=1.
func findMailpit(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("YUNQI_MAILPIT")}
	if p, err := exec.LookPath("mailpit"); err == nil {
		candidates = append(candidates, p)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		candidates = append(candidates, filepath.Join(dir, "bin", "mailpit"))
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); p != "" && err == nil && !st.IsDir() {
			return p
		}
	}
	msg := "no mailpit found (looked at $YUNQI_MAILPIT, $PATH and $(go env GOPATH)/bin); " +
		"install it with `go install github.com/axllent/mailpit@v1.33.1` or point YUNQI_MAILPIT at it"
	if os.Getenv("YUNQI_REQUIRE_MAILPIT") == "1" {
		t.Fatal(msg + ", and YUNQI_REQUIRE_MAILPIT=1 makes that a failure")
	}
	t.Skip(msg)
	return ""
}

// freePort is a port on 127.0.0.1 that nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// mailpit is a running mailpit: SMTP at smtp, its API at api.
type mailpit struct {
	t         *testing.T
	smtp, api string
}

func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	exe := findMailpit(t)
	m := &mailpit{t: t, smtp: freePort(t), api: "http://" + freePort(t)}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, "--smtp", m.smtp, "--listen", strings.TrimPrefix(m.api, "http://"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check",
		"--database", filepath.Join(t.TempDir(), "mailpit.db"))
	logFile := filepath.Join(t.TempDir(), "mailpit.log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		out.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("mailpit's log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(m.api + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("mailpit did not answer at %s: %v\n%s", m.api, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return m
}

func (m *mailpit) get(path string, into any) {
	m.t.Helper()
	resp, err := http.Get(m.api + path)
	if err != nil {
		m.t.Fatalf("mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("mailpit %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		m.t.Fatalf("mailpit %s: %v (%s)", path, err, body)
	}
}

// mail is one message as mailpit has it.
type mail struct {
	ID, Subject, Text, HTML string
	To                      []struct{ Address string }
	Headers                 map[string][]string
}

func (ml mail) header(name string) string {
	for k, v := range ml.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// mailTo is every mail to an address, oldest first.
func (m *mailpit) mailTo(addr string) []mail {
	m.t.Helper()
	var list struct {
		Messages []struct {
			ID string
			To []struct{ Address string }
		}
	}
	m.get("/api/v1/messages?limit=200", &list)
	var out []mail
	for i := len(list.Messages) - 1; i >= 0; i-- { // newest first in the list
		msg := list.Messages[i]
		for _, to := range msg.To {
			if strings.EqualFold(to.Address, addr) {
				var ml mail
				m.get("/api/v1/message/"+msg.ID, &ml)
				m.get("/api/v1/message/"+msg.ID+"/headers", &ml.Headers)
				out = append(out, ml)
			}
		}
	}
	return out
}

// await waits for the mail of kind to addr.
func (m *mailpit) await(addr, kind string) mail {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var seen []string
		for _, ml := range m.mailTo(addr) {
			if ml.header("X-Yunqi-Kind") == kind {
				return ml
			}
			seen = append(seen, ml.header("X-Yunqi-Kind"))
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no %s mail reached %s within 30 s (it has: %v)", kind, addr, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// linkIn is the first address on the site in a mail's text.
func linkIn(t *testing.T, ml mail, site, path string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(site+path) + `\S*`)
	link := re.FindString(ml.Text)
	if link == "" {
		t.Fatalf("the %s mail's text has no link to %s%s:\n%s", ml.header("X-Yunqi-Kind"), site, path, ml.Text)
	}
	return link
}

// newMailTestApp is newTestApp with the notifier mailing through smtpURL
// and its links pointing at site, whose listener the caller serves on.
func newMailTestApp(t *testing.T, smtpURL, site string) *testApp {
	t.Helper()
	data := t.TempDir()
	args := append(append([]string{"--data", data}, rateOff...),
		"--smtp-url", smtpURL, "--smtp-from", "Yunqi <noreply@yunqi.example>")
	c, _, _, err := parseServe(args, quietEnv(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := c.logger()
	store, err := openPersonalLog(t.Context(), &c.commonConfig, "", true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, data: data, store: store, clock: &testClock{}}
	deps := c.deps(store, logger, nil)
	deps.identity.Argon2 = cheapArgon2
	deps.identity.Clock = ta.clock.Now
	deps.identity.KeyCheckInterval = time.Nanosecond
	if deps.mailer, err = c.Notify.mailer(); err != nil {
		store.Close()
		t.Fatal(err)
	}
	if deps.mailer == nil {
		store.Close()
		t.Fatal("--smtp-url gave no mailer")
	}
	deps.siteURL = site
	a, err := newApp(deps, c.serverOptions(logger, nil))
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	ta.app = a
	ctx, cancel := context.WithCancelCause(context.Background())
	wait := a.runServices(ctx, cancel)
	t.Cleanup(func() {
		cancel(nil)
		wait()
		if err := context.Cause(ctx); err != nil && err != context.Canceled {
			t.Errorf("a service failed: %v", err)
		}
		store.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range a.services {
		for s.ready != nil && s.ready(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("service %s did not become ready: %v", s.name, s.ready(ctx))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return ta
}

// TestBrowserSeatOfferByEmail: the same journey with mail on, through a
// real SMTP server. The member signs up on the page, confirms the address
// with the link of the verification mail, waits for the full edition's
// seat, and is mailed the offer (X-Yunqi-Kind: seat_offered) in the
// language chosen at sign-up; the mail's link, opened on another device,
// asks for a log-in and leads to the registration, where the member
// accepts; the confirmation is mailed too.
func TestBrowserSeatOfferByEmail(t *testing.T) {
	mp := startMailpit(t)
	browser := startBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := "http://" + ln.Addr().String()
	a := newMailTestApp(t, "smtp://yunqi:secret@"+mp.smtp, site)
	srv := httptest.NewUnstartedServer(a.app.server)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	a.signUp("org@example.com", "Organiser")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	org, _ := a.logIn("org@example.com")

	c := notifyJourneys[1] // en; the inbox test covers both languages
	edition := "mail-2033"
	fullEdition(t, a, org, edition)
	holderEmail, waiterEmail := "holder@example.com", "waiter@example.com"
	a.signUp(holderEmail, "杜勇")

	// The member signs up on the page, in English, and confirms the
	// address from the verification mail.
	tab := openTab(t, browser, srv.URL, "member", c.lang)
	tab.signUp(waiterEmail, "Bob Chen")
	verify := mp.await(waiterEmail, "verify_email")
	if lang := verify.header("Content-Language"); lang != c.lang {
		t.Errorf("the verification mail's Content-Language is %q, want %q", lang, c.lang)
	}
	if verify.header("List-Unsubscribe") != "" {
		t.Error("the verification mail offers an unsubscribe link, but it cannot be turned off")
	}
	link := linkIn(t, verify, site, "/identity/verify-email?")
	if u, err := url.Parse(link); err != nil || u.Query().Get("u") == "" || u.Query().Get("c") == "" {
		t.Fatalf("the verification link %q lacks u or c", link)
	}
	tab.run("follow the verification link", chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("body")))
	if got := tab.text("h1"); got != c.verified {
		t.Fatalf("the verification page reads %q, want %q", got, c.verified)
	}
	tab.step("verified")
	waiter, _ := a.logIn(waiterEmail)
	waitUntil(t, func() bool {
		w := a.do("GET", "/api/notify/preferences", waiter, "")
		return strings.Contains(w.Body.String(), `"email_verified":true`)
	})

	// The seat is taken, the member queues, the seat is freed and offered.
	reg := takeAndFree(t, a, edition, holderEmail, waiter)
	regPath := "/conference/registrations/" + reg
	waitlisted := mp.await(waiterEmail, "registration_waitlisted")
	offer := mp.await(waiterEmail, "seat_offered")
	if !strings.Contains(offer.Subject, c.seat) || !strings.Contains(offer.Subject, c.edition) {
		t.Errorf("the offer's subject is %q, want it to name the %s and %q", offer.Subject, c.seat, c.edition)
	}
	if lang := offer.header("Content-Language"); lang != c.lang {
		t.Errorf("the offer's Content-Language is %q, want %q", lang, c.lang)
	}
	if got := offer.header("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("the offer's Auto-Submitted is %q", got)
	}
	if unsub := offer.header("List-Unsubscribe"); !strings.HasPrefix(unsub, "<"+site+"/notify/unsubscribe?t=") {
		t.Errorf("the offer's List-Unsubscribe is %q", unsub)
	}
	if got := offer.header("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("the offer's List-Unsubscribe-Post is %q", got)
	}
	if !strings.Contains(offer.Text, "Bob Chen") || strings.Contains(offer.Text, "杜勇") {
		t.Errorf("the offer should greet its reader and not name the holder:\n%s", offer.Text)
	}
	if offer.HTML == "" || !strings.Contains(offer.HTML, site+regPath) {
		t.Errorf("the offer's HTML part lacks the link to %s", regPath)
	}
	if waitlisted.header("Message-Id") == offer.header("Message-Id") {
		t.Error("two mails share a Message-ID")
	}
	offerLink := linkIn(t, offer, site, "/conference/registrations/")
	if offerLink != site+regPath {
		t.Errorf("the offer links to %s, want %s", offerLink, site+regPath)
	}

	// Read on another device: the link asks for a log-in, then shows the
	// offer, which the member accepts.
	phone := openTab(t, browser, srv.URL, "phone", c.lang)
	phone.run("follow the offer's link", chromedp.Navigate(offerLink), chromedp.WaitReady(chromedp.CSS("body")))
	if got := phone.eval(`location.pathname`); got != "/identity/login" {
		t.Fatalf("the offer's link on a new device went to %s, not the log-in page", got)
	}
	phone.fill("#f-email", waiterEmail)
	phone.fill("#f-password", "correct horse battery staple")
	phone.clickAndWait(`form.form button[type="submit"]`, regPath)
	phone.step("offer")
	phone.clickAndWait("#accept", regPath)
	if got := phone.text("#reg-status"); got != c.confirmed {
		t.Errorf("the status after accepting is %q, want %q", got, c.confirmed)
	}
	phone.step("accepted")
	confirmed := mp.await(waiterEmail, "registration_confirmed")
	if !strings.Contains(confirmed.Text, site+regPath) {
		t.Errorf("the confirmation does not link to the registration:\n%s", confirmed.Text)
	}

	// The mail went out exactly once each, and the inbox has them too.
	count := map[string]int{}
	for _, ml := range mp.mailTo(waiterEmail) {
		count[ml.header("X-Yunqi-Kind")]++
	}
	for _, k := range []string{"verify_email", "registration_waitlisted", "seat_offered", "registration_confirmed"} {
		if count[k] != 1 {
			t.Errorf("%d %s mails, want 1 (all: %v)", count[k], k, count)
		}
	}
	tab.open("/notify/")
	if it := tab.inboxItem("seat_offered"); !it.Found || !strings.Contains(it.Title, c.seat) {
		t.Errorf("the inbox lacks the offer that was mailed: %+v", it)
	}
	if tab.eval(`String(!!document.querySelector('.inbox-title[data-kind="verify_email"]'))`) != "false" {
		t.Error("the verification mail shows in the inbox")
	}
}
