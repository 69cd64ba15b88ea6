package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// The conference's browser tests drive Debian's Chromium through the whole
// binary: identity's log-in page and page session, then the conference
// pages. Without a Chromium they skip, unless YUNQI_REQUIRE_BROWSER=1. On
// failure each tab saves a screenshot to $YUNQI_ARTIFACTS (or a temporary
// directory) and logs its path; YUNQI_SCREENSHOTS=dir saves one per step.

func findChromium(t *testing.T) string {
	t.Helper()
	required := os.Getenv("YUNQI_REQUIRE_BROWSER") == "1"
	if testing.Short() && !required {
		t.Skip("browser tests are skipped under -short; YUNQI_REQUIRE_BROWSER=1 runs them")
	}
	candidates := []string{os.Getenv("YUNQI_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); p != "" && err == nil && !st.IsDir() {
			return p
		}
	}
	msg := "no Chromium found (looked at $YUNQI_CHROMIUM, /usr/bin/chromium and $PATH); install it with `apt-get install chromium`"
	if required {
		t.Fatal(msg + ", and YUNQI_REQUIRE_BROWSER=1 makes that a failure")
	}
	t.Skip(msg)
	return ""
}

func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := findChromium(t)
	profile := t.TempDir()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancel)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser, bound to the context it gets.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// browserTab is one person's tab, with cookies of its own.
type browserTab struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
	shot int
}

func openTab(t *testing.T, browser context.Context, base, name, lang string) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &browserTab{t: t, ctx: ctx, base: base, name: name}
	t.Cleanup(cancel)
	t.Cleanup(func() { // runs before cancel, while the tab is open
		if t.Failed() {
			tb.screenshot("failure")
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": lang},
	}); err != nil {
		t.Fatalf("set the browser's language: %v", err)
	}
	return tb
}

func (tb *browserTab) screenshot(step string) {
	dir := os.Getenv("YUNQI_SCREENSHOTS")
	if step == "failure" {
		dir = os.Getenv("YUNQI_ARTIFACTS")
	}
	if dir == "" {
		dir = tb.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot %s: %v", step, err)
		return
	}
	tb.shot++
	safe := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(tb.t.Name()+"-"+tb.name, "_")
	path := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", safe, tb.shot, step))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Logf("screenshot %s: %v", step, err)
		return
	}
	tb.t.Logf("screenshot: %s", path)
}

func (tb *browserTab) step(name string) {
	if os.Getenv("YUNQI_SCREENSHOTS") != "" {
		tb.screenshot(name)
	}
}

func (tb *browserTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
}

func value[T any](tb *browserTab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
	return v
}

func (tb *browserTab) eval(js string) string {
	tb.t.Helper()
	return value(tb, js, chromedp.Evaluate[string](js))
}

func (tb *browserTab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(value(tb, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func (tb *browserTab) open(path string) {
	tb.t.Helper()
	tb.run("open "+path, chromedp.Navigate(tb.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// clickAndWait clicks and waits for the next page, whose path starts with
// prefix; the old page is marked so that it cannot pass for the new one.
func (tb *browserTab) clickAndWait(sel, prefix string) {
	tb.t.Helper()
	tb.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.yunqiOldPage = true`))
	tb.run("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	cond := fmt.Sprintf(`!window.yunqiOldPage && location.pathname.startsWith(%q) && document.readyState === "complete"`, prefix)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("%s: clicking %s did not lead to %s (at %s)", tb.name, sel, prefix, tb.eval(`location.pathname`))
}

func (tb *browserTab) logIn(email string) {
	tb.t.Helper()
	tb.open("/identity/login?next=/conference/")
	tb.run("log in",
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "correct horse battery staple"))
	tb.clickAndWait(`form.form button[type="submit"]`, "/conference/")
}

// logInAt opens a page that needs an account, is sent to the log-in page,
// logs in there and is sent back: the way a bookmarked page goes.
func (tb *browserTab) logInAt(path, email string) {
	tb.t.Helper()
	tb.open(path)
	if got := tb.eval(`location.pathname`); got != "/identity/login" {
		tb.t.Fatalf("%s: %s did not ask for a log-in (at %s)", tb.name, path, got)
	}
	tb.fill("#f-email", email)
	tb.fill("#f-password", "correct horse battery staple")
	tb.clickAndWait(`form.form button[type="submit"]`, path)
}

// signUp opens an account through the sign-up page, which logs it in.
func (tb *browserTab) signUp(email, name string) {
	tb.t.Helper()
	tb.open("/identity/signup")
	tb.fill("#f-display-name", name)
	tb.fill("#f-email", email)
	tb.fill("#f-password", "correct horse battery staple")
	tb.clickAndWait(`form.form button[type="submit"]`, "/identity/me")
}

// fill replaces a field's text with value, typed as a person types it.
func (tb *browserTab) fill(sel, value string) {
	tb.t.Helper()
	tb.run("fill "+sel,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// conferenceCopy is what the journey reads on the pages, per language.
type conferenceCopy struct {
	lang, edition                string
	confirmed, waitlisted        string
	cancelled, offer, seatIsYour string
	clash                        string
}

var conferenceJourneys = []conferenceCopy{
	{lang: "zh-CN", edition: "2013 阿里云开发者大会", confirmed: "已确认", waitlisted: "候补中", cancelled: "已取消",
		offer: "“游戏分论坛”有一个座位在等你。", seatIsYour: "你获得了“游戏分论坛”的座位。",
		clash: "“游戏分论坛”和“金融分论坛”时间冲突"},
	{lang: "en", edition: "Developer Conference 2013", confirmed: "Confirmed", waitlisted: "On the waitlist", cancelled: "Cancelled",
		offer: "A seat in “游戏分论坛” is waiting for you.", seatIsYour: "You have a seat in “游戏分论坛”.",
		clash: "“游戏分论坛” and “金融分论坛” take place at the same time"},
}

// TestBrowserConferenceJourney: an organiser schedules an edition with a
// one-seat forum; member A registers through the page and sees the ticket;
// member B registers and is waitlisted; A cancels through the page; B is
// offered the seat, accepts it and has it. Once in each language.
func TestBrowserConferenceJourney(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)

	a.signUp("org@example.com", "Organiser")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	org, _ := a.logIn("org@example.com")

	for _, c := range conferenceJourneys {
		t.Run(c.lang, func(t *testing.T) {
			edition := "browser-" + strings.ToLower(c.lang)
			body := `{"id":"` + edition + `","name":{"zh":"2013 阿里云开发者大会","en":"Developer Conference 2013"},
				"starts_on":"2013-10-24","ends_on":"2013-10-25","venue":"云栖小镇","capacity":100,
				"tracks":[{"id":"games","name":{"zh":"游戏","en":"Games"}}]}`
			if w := a.do("POST", "/api/conference/editions", org, body); w.Code != http.StatusCreated {
				t.Fatalf("create edition: %d %s", w.Code, w.Body)
			}
			for _, s := range []string{
				`{"id":"games","track":"games","title":"游戏分论坛","room":"A1","starts_at":"2013-10-24T09:00:00+08:00","ends_at":"2013-10-24T12:00:00+08:00","capacity":1}`,
				`{"id":"finance","title":"金融分论坛","room":"B2","starts_at":"2013-10-24T11:00:00+08:00","ends_at":"2013-10-24T13:00:00+08:00","capacity":50}`,
			} {
				if w := a.do("POST", "/api/conference/editions/"+edition+"/sessions", org, s); w.Code != http.StatusCreated {
					t.Fatalf("add session: %d %s", w.Code, w.Body)
				}
			}
			emailA, emailB := "a-"+c.lang+"@example.com", "b-"+c.lang+"@example.com"
			a.signUp(emailA, "杜勇")
			a.signUp(emailB, "Bob Chen")
			tabA := openTab(t, browser, srv.URL, "A", c.lang)
			tabB := openTab(t, browser, srv.URL, "B", c.lang)

			// A registers for the one-seat forum through the pages.
			tabA.logIn(emailA)
			tabA.step("editions")
			tabA.clickAndWait(`a[href="/conference/`+edition+`/"]`, "/conference/"+edition+"/")
			if got := tabA.text("h1"); got != c.edition {
				t.Fatalf("edition page heading %q", got)
			}
			tabA.run("choose the forum", chromedp.Click(chromedp.CSS("#session-games")))
			tabA.step("edition")
			tabA.clickAndWait(`form.register-form button[type="submit"]`, "/conference/registrations/")
			if got := tabA.text("#reg-status"); got != c.confirmed {
				t.Errorf("A's status %q, want %q", got, c.confirmed)
			}
			if !strings.Contains(tabA.text("#seats"), c.confirmed) {
				t.Errorf("A's forum seat is not confirmed: %s", tabA.text("#seats"))
			}
			tabA.run("the ticket's QR code loads", chromedp.WaitVisible(chromedp.CSS("#ticket-qr")))
			deadline := time.Now().Add(10 * time.Second)
			for tabA.eval(`String(document.querySelector("#ticket-qr").complete && document.querySelector("#ticket-qr").naturalWidth)`) == "0" ||
				tabA.eval(`String(document.querySelector("#ticket-qr").complete)`) != "true" {
				if time.Now().After(deadline) {
					t.Fatal("the ticket's QR code did not load")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if w := tabA.eval(`String(document.querySelector("#ticket-qr").naturalWidth)`); w == "0" {
				t.Fatal("the ticket's QR code is not an image")
			}
			tabA.step("registration-confirmed")
			regA := tabA.eval(`location.pathname`)

			// B first asks for two forums at the same time, and is told so on
			// the field; then asks for the one-seat forum alone and waits in
			// line for it.
			tabB.logIn(emailB)
			tabB.open("/conference/" + edition + "/")
			tabB.run("choose both forums", chromedp.Click(chromedp.CSS("#session-games")), chromedp.Click(chromedp.CSS("#session-finance")))
			tabB.clickAndWait(`form.register-form button[type="submit"]`, "/conference/"+edition+"/")
			if got := tabB.text("#f-sessions-error"); !strings.Contains(got, c.clash) {
				t.Errorf("the clash reads %q, want %q", got, c.clash)
			}
			if tabB.eval(`document.activeElement.id`) != "error-summary" {
				t.Error("the error summary does not take focus")
			}
			if tabB.eval(`String(document.querySelector("#session-finance").checked)`) != "true" {
				t.Error("the sessions chosen were not kept")
			}
			tabB.step("edition-clash")
			tabB.run("drop the finance forum", chromedp.Click(chromedp.CSS("#session-finance")))
			tabB.clickAndWait(`form.register-form button[type="submit"]`, "/conference/registrations/")
			if !strings.Contains(tabB.text("#seats"), c.waitlisted) {
				t.Errorf("B is not on the forum's waitlist: %s", tabB.text("#seats"))
			}
			tabB.step("registration-waitlisted")
			regB := tabB.eval(`location.pathname`)

			// A cancels through the page.
			tabA.clickAndWait("#cancel", regA)
			if got := tabA.text("#reg-status"); got != c.cancelled {
				t.Errorf("A's status after cancelling %q, want %q", got, c.cancelled)
			}
			if tabA.eval(`String(!!document.querySelector("#ticket-qr"))`) != "false" {
				t.Error("a cancelled registration still shows its ticket")
			}
			tabA.step("registration-cancelled")

			// B is offered the freed seat, accepts it and holds it.
			tabB.open(regB)
			if got := tabB.text(".offer"); !strings.Contains(got, c.offer) {
				t.Errorf("B's offer reads %q, want %q", got, c.offer)
			}
			tabB.step("offer")
			tabB.clickAndWait("#accept", regB)
			if strings.Contains(tabB.text("#seats"), c.waitlisted) || !strings.Contains(tabB.text("#seats"), c.confirmed) {
				t.Errorf("B's forum seat after accepting: %s", tabB.text("#seats"))
			}
			if !strings.Contains(tabB.text("#timeline"), c.seatIsYour) {
				t.Errorf("B's timeline lacks %q:\n%s", c.seatIsYour, tabB.text("#timeline"))
			}
			if strings.Contains(tabB.eval(`document.querySelector("main").innerText`), "杜勇") {
				t.Error("B's page names the person whose seat B took")
			}
			tabB.step("offer-accepted")

			// B's list of registrations has it, and the organiser's list
			// shows B in the seat.
			tabB.open("/conference/registrations")
			if !strings.Contains(tabB.eval(`document.querySelector("main").innerHTML`), regB) {
				t.Error("B's registrations page does not list the registration")
			}
			tabB.step("mine")

			// The organiser's list shows B in the forum's one seat.
			tabO := openTab(t, browser, srv.URL, "organiser", c.lang)
			tabO.logIn("org@example.com")
			tabO.open("/conference/" + edition + "/attendees")
			tabO.step("attendees")
			tabO.clickAndWait(`a[href="/conference/`+edition+`/attendees/games"]`, "/conference/"+edition+"/attendees/games")
			if got := tabO.text("tbody"); !strings.Contains(got, "Bob Chen") || strings.Contains(got, "杜勇") {
				t.Errorf("the forum's list reads %q", got)
			}
			tabO.step("session-list")
		})
	}
}
