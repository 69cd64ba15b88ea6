package contest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

func appendErasure(t *testing.T, store events.Store, user string) events.Position {
	t.Helper()
	p, err := events.Types.New(events.AccountErased{UserID: user, By: events.ErasedBySelf},
		events.Metadata{Actor: user, Visibility: events.Owner, OccurredAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), events.UserStream(user), events.Any, p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// within retries check for up to 5 s (the erasure must be through in well
// under a second; the margin is for a loaded machine).
func within(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		problem := check()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, problem)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestErasedMemberLeavesTheTeamsName: a team member's account is erased
// after the results. The entry stays in the gallery with its team, and
// "erased person" stands where the member's name was, on the gallery, the
// team's page and timeline and in the API, also in a process started
// afterwards, which reads the gallery's published names from the log.
func TestErasedMemberLeavesTheTeamsName(t *testing.T) {
	a := newTestAPI(t)
	if err := SeedDemo(context.Background(), a.svc.store); err != nil {
		t.Fatal(err)
	}
	a.svc.public.follower.WaitFor(context.Background(), mustHead(t, a))
	h := pagesFor(t, a)
	const erased, teammate = "demo-xixi-birdwatch-2", "demo-xixi-birdwatch-1"
	gallery := "/contest/" + DemoContestID + "/gallery"
	team := "/contest/" + DemoContestID + "/team"
	if w := page(h, "GET", gallery, "", "", "zh-CN", nil); !strings.Contains(w.Body.String(), "周观") {
		t.Fatalf("the gallery does not name 周观 before the erasure (%d)", w.Code)
	}
	if w := page(h, "GET", team, teammate, "", "zh-CN", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "周观") {
		t.Fatalf("the team page does not name 周观 before the erasure (%d)", w.Code)
	}

	appendErasure(t, a.svc.store, erased)

	check := func(h http.Handler) func() string {
		return func() string {
			for _, tc := range []struct{ lang, erased string }{{"zh-CN", "已删除的用户"}, {"en", "erased person"}} {
				for _, p := range []struct{ path, user string }{{gallery, ""}, {team, teammate}} {
					w := page(h, "GET", p.path, p.user, "", tc.lang, nil)
					body := w.Body.String()
					switch {
					case w.Code != http.StatusOK:
						return p.path + ": status " + w.Result().Status
					case strings.Contains(body, "周观"):
						return p.path + " (" + tc.lang + ") still names 周观"
					case !strings.Contains(body, tc.erased):
						return p.path + " (" + tc.lang + ") does not say " + tc.erased
					case !strings.Contains(body, "林小溪") || !strings.Contains(body, "西溪观鸟"):
						return p.path + " (" + tc.lang + ") lost the team or its other members"
					}
				}
			}
			return ""
		}
	}
	within(t, "pages after the erasure", check(h))
	w := a.do("GET", base+"/"+DemoContestID+"/teams/xixi-birdwatch", a.token(teammate), nil)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "周观") {
		t.Errorf("the team API still names 周观 (%d): %s", w.Code, w.Body)
	}
	w = a.do("GET", base+"/"+DemoContestID+"/teams/xixi-birdwatch/timeline", a.token(teammate), nil)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "周观") {
		t.Errorf("the team's timeline still names 周观 (%d): %s", w.Code, w.Body)
	}
	w = a.do("GET", base+"/"+DemoContestID+"/gallery", "", nil)
	if strings.Contains(w.Body.String(), "周观") {
		t.Errorf("the gallery API still names 周观: %s", w.Body)
	}

	b := newTestAPIOn(t, a.svc.store)
	b.svc.public.follower.WaitFor(context.Background(), mustHead(t, b))
	within(t, "pages of a process started after the erasure", check(pagesFor(t, b)))
}
