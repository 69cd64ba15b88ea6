package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// mePage renders /notify/me for user in lang.
func mePage(t *testing.T, s *Service, user, lang string) string {
	t.Helper()
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	p.Mount(r, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{UserID: user, Roles: []string{auth.RoleMember}}))
			next.ServeHTTP(w, req)
		})
	})
	req := httptest.NewRequest("GET", "/notify/me", nil)
	req.Header.Set("Accept-Language", lang)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("/notify/me: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// TestErasedAccountIsDroppedAndNeverMailed: an erased account's inbox,
// preferences, overview and pending mail are gone at once, the mail due
// to it is never sent, nothing later is noted for it, and a teammate's
// inbox and team timeline say "erased person" where its name was, also
// when the notifier is rebuilt from the log.
func TestErasedAccountIsDroppedAndNeverMailed(t *testing.T) {
	store := openStore(t)
	var refused atomic.Int64
	mailer := &fakeMailer{fail: func(m Message) error {
		if m.To == "ada@example.com" {
			refused.Add(1)
			return &DeliveryError{Temporary: true, Reason: "421 4.3.2 try again later"}
		}
		return nil
	}}
	s := start(t, store, Config{Mailer: mailer, RetryBase: 300 * time.Millisecond})
	member(t, store, ada, "Ada Wong", "ada@example.com", "en", true)
	member(t, store, bo, "Bo", "bo@example.com", "en", true)
	put(t, store, events.MailPrefsStream(ada), events.EmailPreferenceSet{UserID: ada, Kind: KindTeamJoined, Email: false})
	put(t, store, events.ContestStream("c"),
		events.ContestCreated{ContestID: "c", NameZH: "大赛", NameEN: "Contest"},
		events.TeamCreated{ContestID: "c", TeamID: "kites", Name: "Kites", OwnerID: bo, Personal: events.TeamMemberPersonal{DisplayName: "Bo"}},
		events.TeamMemberJoined{ContestID: "c", TeamID: "kites", MemberID: ada, Personal: events.TeamMemberPersonal{DisplayName: "Ada Wong"}})
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"})
	eventually(t, "ada's mail was refused once and waits for its retry", func() bool { return refused.Load() == 1 })
	if got := inboxKinds(s, bo); len(got) != 1 || got[0] != KindTeamJoined {
		t.Fatalf("Bo's inbox = %v", got)
	}
	// A batch a worker took before the erasure is read.
	s.model.mu.RLock()
	var taken []*outMail
	for _, om := range s.model.mail {
		if om.Note.User == ada {
			c := *om
			c.retryAt = time.Time{}
			taken = append(taken, &c)
		}
	}
	s.model.mu.RUnlock()
	if len(taken) != 1 {
		t.Fatalf("%d mails due to ada, want the role mail", len(taken))
	}

	put(t, store, events.UserStream(ada), events.AccountErased{UserID: ada, By: events.ErasedBySelf})
	eventually(t, "the erasure is read", func() bool { return s.model.isErased(ada) })
	put(t, store, events.EditionStream("e27"),
		events.EditionScheduled{EditionID: "e27", NameEN: "Yunqi 2027", Capacity: 1},
		events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-a", MemberID: ada, Status: events.StatusConfirmed},
		events.RegistrationCancelled{EditionID: "e27", RegistrationID: "e27-a"})

	s.outbox.deliver(context.Background(), taken)
	time.Sleep(time.Second) // three retry windows of the refused mail
	if n := refused.Load(); n != 1 {
		t.Errorf("the erased person's mail was tried %d more times", n-1)
	}
	for _, m := range mailer.sent() {
		if m.To == "ada@example.com" {
			t.Errorf("mailed the erased person: %s", m.Kind)
		}
	}
	if evs, _ := store.ReadStream(t.Context(), events.MailStream(taken[0].ID), events.ReadOptions{}); len(evs) != 2 {
		t.Errorf("the erased person's mail stream has %d events, want its first claim and failure only", len(evs))
	}
	check := func(s *Service) {
		t.Helper()
		s.model.mu.RLock()
		_, held := s.model.people[ada]
		var pending int
		for _, om := range s.model.mail {
			if om.Note.User == ada {
				pending++
			}
		}
		s.model.mu.RUnlock()
		if held || pending > 0 {
			t.Errorf("the notifier still holds the erased person (%v) or mail due to them (%d)", held, pending)
		}
		if got := inboxKinds(s, ada); len(got) != 0 {
			t.Errorf("the erased person's inbox = %v", got)
		}
		prefs, verified, email := s.prefs(ada)
		for _, p := range prefs {
			if p.Kind == KindTeamJoined && !p.Email {
				t.Error("the erased person's mail preferences are kept")
			}
		}
		if verified || email != "" {
			t.Errorf("the erased person's address is kept: %q", email)
		}
		if o := s.overview(ada, "en", 10); len(o.Registrations)+len(o.Teams)+len(o.Notifications) != 0 {
			t.Errorf("the erased person's overview: %+v", o)
		}
		for lang, erased := range map[string]string{"en": "erased person", "zh-CN": "已删除的用户"} {
			items, _, _ := s.inboxPage(bo, lang, "", 10)
			if len(items) != 1 || strings.Contains(items[0].Title, "Ada") || !strings.Contains(items[0].Title, erased) {
				t.Errorf("Bo's inbox (%s): %+v", lang, items)
			}
			page := mePage(t, s, bo, lang)
			if strings.Contains(page, "Ada") || !strings.Contains(page, erased) {
				t.Errorf("Bo's My Yunqi (%s) does not show the teammate as %q", lang, erased)
			}
		}
	}
	check(s)
	check(start(t, store, Config{}))
}

// TestDeletedBlogLeavesTheOverview: a deleted blog's posts leave its
// writers' My Yunqi.
func TestDeletedBlogLeavesTheOverview(t *testing.T) {
	store := openStore(t)
	s := start(t, store, Config{})
	member(t, store, ada, "Ada", "ada@example.com", "en", false)
	put(t, store, events.BlogStream("notes"), events.BlogCreated{Name: "notes", Title: "Notes", Owner: ada, OwnerPersonal: events.OwnerPersonal{OwnerName: "Ada"}})
	put(t, store, events.PostStream("notes", "hello"), events.PostPublished{Blog: "notes", Slug: "hello", Revision: 1,
		PostContent: events.PostContent{Title: "Hello"}})
	eventually(t, "the post is in the overview", func() bool { return len(s.overview(ada, "en", 1).Posts) == 1 })
	put(t, store, events.BlogStream("notes"), events.BlogDeleted{Name: "notes"})
	eventually(t, "the post leaves the overview", func() bool { return len(s.overview(ada, "en", 1).Posts) == 0 })
}
