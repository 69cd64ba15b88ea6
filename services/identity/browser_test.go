package identity

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive Debian's Chromium through the pages a person
// uses. Without a Chromium they skip, unless YUNQI_REQUIRE_BROWSER=1 (CI),
// when that is a failure. On failure each test saves a screenshot to
// $YUNQI_ARTIFACTS (or a temporary directory) and logs its path; with
// YUNQI_SCREENSHOTS=dir they save one per step, for looking at the pages.

func requireBrowser() bool { return os.Getenv("YUNQI_REQUIRE_BROWSER") == "1" }

// chromium finds the browser or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() && !requireBrowser() {
		t.Skip("browser tests are skipped under -short; YUNQI_REQUIRE_BROWSER=1 runs them")
	}
	candidates := []string{os.Getenv("YUNQI_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := "no Chromium found (looked at $YUNQI_CHROMIUM, /usr/bin/chromium and $PATH); install it with `apt-get install chromium` to run the browser tests"
	if requireBrowser() {
		t.Fatal(msg + ", and YUNQI_REQUIRE_BROWSER=1 makes that a failure")
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, for the
// duration of the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir() // before the allocator, so it is removed after the browser exits
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first run starts the browser and binds it to the context it is
	// given, so it gets ctx itself, not one with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// tab is one browser tab in a browser context of its own (its own cookies),
// sending acceptLanguage as the browser's language.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot int
}

func (s *site) newTab(t *testing.T, browser context.Context, acceptLanguage string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, base: s.srv.URL}
	t.Cleanup(cancel)
	// Registered after cancel, so it runs first, while the tab is open.
	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot("failure")
		}
	})
	// The first run opens the tab, bound to the context it is given.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": acceptLanguage},
	}); err != nil {
		t.Fatalf("set the browser's language: %v", err)
	}
	return tb
}

// screenshot saves the page as a PNG and logs where.
func (tb *tab) screenshot(name string) string {
	dir := os.Getenv("YUNQI_ARTIFACTS")
	if name != "failure" {
		dir = os.Getenv("YUNQI_SCREENSHOTS")
	}
	if dir == "" {
		dir = tb.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return ""
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	tb.shot++
	safe := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(tb.t.Name(), "_")
	path := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", safe, tb.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	tb.t.Logf("screenshot: %s", path)
	return path
}

// step takes a screenshot when YUNQI_SCREENSHOTS asks for them.
func (tb *tab) step(name string) {
	if os.Getenv("YUNQI_SCREENSHOTS") != "" {
		tb.screenshot(name)
	}
}

const actionTimeout = 20 * time.Second

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(run(tb, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func (tb *tab) eval(js string) string {
	tb.t.Helper()
	return run(tb, js, chromedp.Evaluate[string](js))
}

func (tb *tab) path() string {
	tb.t.Helper()
	return tb.eval(`location.pathname`)
}

func (tb *tab) lang() string {
	tb.t.Helper()
	return tb.eval(`document.documentElement.lang`)
}

// waitFor polls a JavaScript condition. Errors while it polls are the page
// being replaced by the next one, and are retried.
func (tb *tab) waitFor(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("waiting for %s (%s): %v", what, cond, lastErr)
}

// clickAndWait clicks and waits until the next page, at path, has loaded.
// The old page is marked first, so that it cannot pass for the new one.
func (tb *tab) clickAndWait(sel, path string) {
	tb.t.Helper()
	tb.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.yunqiOldPage = true`))
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	tb.waitFor("the page "+path, fmt.Sprintf(
		`!window.yunqiOldPage && location.pathname === %q && document.readyState === "complete"`, path))
}

func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.do("fill "+sel,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// copy is what the journey expects to read, per language.
type journeyCopy struct {
	lang, browserLang   string // the page's language, and the browser's to start from
	logIn, otherLogIn   string // the nav's log-in link, in the page's language and in the other
	required, welcome   string
	loggedInAs          string
	loggedOut, saved    string
	registered, session string
	city, bio           string
}

var journeys = []journeyCopy{
	{
		lang: "zh-CN", browserLang: "en-US,en;q=0.9",
		logIn: "登录", otherLogIn: "Log in",
		required: "请输入显示名称。", welcome: "欢迎来到云栖！", loggedInAs: "已登录：",
		loggedOut: "你已退出登录。", saved: "个人资料已保存。",
		registered: "你创建了账号。", session: "你登录了。",
		city: "杭州", bio: "做分布式存储，不想公开。",
	},
	{
		lang: "en", browserLang: "zh-CN,zh;q=0.9",
		logIn: "Log in", otherLogIn: "登录",
		required: "Enter a display name.", welcome: "Welcome to Yunqi!", loggedInAs: "Logged in as ",
		loggedOut: "You have logged out.", saved: "Your profile has been saved.",
		registered: "You created your account.", session: "You logged in.",
		city: "Hangzhou", bio: "Builds storage; keeps it private.",
	},
}

// TestBrowserJourney: sign up, log in, edit the profile, check the public
// page, log out; once in each language, reached with the page's own
// language control from a browser set to the other one.
func TestBrowserJourney(t *testing.T) {
	browser := newBrowser(t)
	s := newSite(t)
	for i, c := range journeys {
		t.Run(c.lang, func(t *testing.T) {
			tb := s.newTab(t, browser, c.browserLang)
			name := []string{"云栖测试员", "Test Developer"}[i]
			email := fmt.Sprintf("browser-%s@example.com", c.lang)

			tb.open("/")
			if tb.text(`.site-nav a[href="/identity/login"]`) != c.otherLogIn {
				t.Fatalf("the page did not start in the browser's language %s", c.browserLang)
			}
			tb.step("home-before")
			tb.clickAndWait(`.lang-switch a[hreflang="`+c.lang+`"]`, "/")
			if tb.lang() != c.lang || tb.text(`.site-nav a[href="/identity/login"]`) != c.logIn {
				t.Fatalf("the language control did not switch to %s (page in %s)", c.lang, tb.lang())
			}
			if got := tb.text(`.lang-switch a[aria-current="true"]`); got != map[string]string{"zh-CN": "中文", "en": "English"}[c.lang] {
				t.Errorf("the control marks %q as current", got)
			}
			tb.step("home")

			// Sign up: first with a field left empty, to see the errors.
			tb.clickAndWait(`.site-nav a[href="/identity/signup"]`, "/identity/signup")
			tb.fill("#f-email", email)
			tb.fill("#f-password", testPassword)
			tb.clickAndWait(`form.form button[type="submit"]`, "/identity/signup")
			if got := tb.text("#f-display-name-error"); !strings.Contains(got, c.required) {
				t.Errorf("display name error = %q, want %q", got, c.required)
			}
			if tb.eval(`document.activeElement.id`) != "error-summary" {
				t.Errorf("the error summary does not take focus")
			}
			if v := tb.eval(`document.querySelector("#f-email").value`); v != email {
				t.Errorf("the email typed is gone: %q", v)
			}
			if v := tb.eval(`document.querySelector("#f-password").value`); v != "" {
				t.Errorf("the password came back")
			}
			tb.step("signup-errors")
			tb.fill("#f-display-name", name)
			tb.fill("#f-password", testPassword)
			tb.clickAndWait(`form.form button[type="submit"]`, "/identity/me")
			if got := tb.text(".notice"); !strings.Contains(got, c.welcome) {
				t.Errorf("welcome notice = %q", got)
			}
			if got := tb.text(".site-nav .who"); got != c.loggedInAs+name {
				t.Errorf("the frame shows %q", got)
			}
			tb.step("me-after-signup")

			// Log out, then log in.
			tb.clickAndWait(`.site-nav button.link-button`, "/")
			if got := tb.text(".notice"); got != c.loggedOut {
				t.Errorf("log-out notice = %q", got)
			}
			tb.clickAndWait(`.site-nav a[href="/identity/login"]`, "/identity/login")
			tb.fill("#f-email", email)
			tb.fill("#f-password", testPassword)
			tb.step("login")
			tb.clickAndWait(`form.form button[type="submit"]`, "/identity/me")
			timeline := tb.text("#timeline")
			for _, want := range []string{c.registered, c.session} {
				if !strings.Contains(timeline, want) {
					t.Errorf("timeline lacks %q:\n%s", want, timeline)
				}
			}

			// Edit the profile: publish the city, keep the bio private.
			tb.fill("#f-city", c.city)
			tb.fill("#f-bio", c.bio)
			tb.do("tick publish city", chromedp.Click(chromedp.CSS(`input[name="publish_city"]`)))
			tb.clickAndWait(`form.form button[type="submit"]`, "/identity/me")
			if got := tb.text(".notice"); got != c.saved {
				t.Errorf("save notice = %q", got)
			}
			if v := tb.eval(`document.querySelector("#f-city").value`); v != c.city {
				t.Errorf("city after saving = %q", v)
			}
			tb.step("me-saved")
			href := tb.eval(`document.querySelector('a[href^="/identity/people/"]').getAttribute("href")`)
			tb.clickAndWait(`a[href^="/identity/people/"]`, href)
			page := tb.eval(`document.documentElement.outerHTML`)
			content := tb.eval(`document.querySelector("main").outerHTML`)
			if !strings.Contains(content, c.city) {
				t.Errorf("the public profile does not show the city")
			}
			if strings.Contains(page, email) {
				t.Errorf("the public profile page shows the email")
			}
			// The frame greets the visitor by name; the profile itself
			// must not show the unpublished name or bio.
			for _, secret := range []string{c.bio, name} {
				if strings.Contains(content, secret) {
					t.Errorf("the public profile shows %q", secret)
				}
			}
			tb.step("public-profile")

			tb.clickAndWait(`.site-nav button.link-button`, "/")
			if tb.text(`.site-nav a[href="/identity/login"]`) != c.logIn {
				t.Errorf("still logged in after logging out")
			}
			if strings.Contains(tb.eval(`document.documentElement.outerHTML`), email) {
				t.Errorf("the home page shows an email")
			}
		})
	}
}

// TestBrowserKeyboard: a keyboard user reaches the skip link first, the
// first form field soon after, and always sees where focus is; the page's
// script and stylesheet load under the Content-Security-Policy.
func TestBrowserKeyboard(t *testing.T) {
	browser := newBrowser(t)
	s := newSite(t)
	tb := s.newTab(t, browser, "en")
	tb.open("/identity/login")

	if tb.eval(`getComputedStyle(document.querySelector(".skip-link")).position`) != "absolute" {
		t.Fatal("the stylesheet did not load")
	}
	if tb.eval(`String(!!document.querySelector(".password-toggle"))`) != "true" {
		t.Fatal("the script did not run (blocked by the CSP?)")
	}

	tb.do("tab", chromedp.KeyEvent(kb.Tab))
	if tb.eval(`document.activeElement.className`) != "skip-link" {
		t.Fatalf("the first tab stop is %q, not the skip link", tb.eval(`document.activeElement.outerHTML`))
	}
	if tb.eval(`String(document.querySelector(".skip-link").getBoundingClientRect().top >= 0)`) != "true" {
		t.Error("the focused skip link is off screen")
	}
	tb.step("skip-link")
	// Through the header to the form, as someone who does not use the
	// skip link would go.
	reached := false
	for range 15 {
		tb.do("tab", chromedp.KeyEvent(kb.Tab))
		if tb.eval(`document.activeElement.id`) == "f-email" {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("tabbing never reached the email field")
	}
	visible := `(function () {
		var el = document.activeElement, st = getComputedStyle(el);
		return String(el.matches(":focus-visible") && st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2);
	})()`
	if tb.eval(visible) != "true" {
		t.Errorf("the focused field has no visible focus outline: %s", tb.eval(`getComputedStyle(document.activeElement).outline`))
	}
	tb.step("focus-email")

	// The skip link leads straight to the content: the next tab stop is
	// the form's first field.
	tb.open("/identity/login")
	tb.do("skip", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	tb.waitFor("the skip link's target", `location.hash === "#main"`)
	tb.do("tab", chromedp.KeyEvent(kb.Tab))
	if id := tb.eval(`document.activeElement.id`); id != "f-email" {
		t.Errorf("after the skip link, tab goes to %q", id)
	}

	// The show-password control works from the keyboard.
	tb.do("type", chromedp.SendKeys(chromedp.CSS("#f-password"), "hunter2hunter2"))
	tb.do("toggle", chromedp.Focus(chromedp.CSS(".password-toggle")), chromedp.KeyEvent(kb.Enter))
	if tb.eval(`document.querySelector("#f-password").type`) != "text" {
		t.Error("the show-password control does not show it")
	}
}
