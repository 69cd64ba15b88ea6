package notify

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

func edition(t testing.TB, store events.Store, id string, payloads ...any) {
	t.Helper()
	put(t, store, events.EditionStream(id), append([]any{events.EditionScheduled{EditionID: id, NameZH: "2027 云栖大会",
		NameEN: "Yunqi Conference 2027", StartsOn: "2027-10-20", EndsOn: "2027-10-21", Venue: "云栖小镇", Capacity: 1}}, payloads...)...)
}

func inboxKinds(s *Service, user string) []string {
	items, _, _ := s.inboxPage(user, "en", "", 100)
	var out []string
	for _, it := range items {
		out = append(out, it.Kind)
	}
	return out
}

func mailStream(t *testing.T, store events.Store, id string) []string {
	t.Helper()
	evs, err := store.ReadStream(t.Context(), events.MailStream(id), events.ReadOptions{})
	if err != nil {
		t.Fatalf("mail stream of %s: %v", id, err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, strings.TrimPrefix(e.Type, "notify."))
	}
	return types
}

// A waitlisted member whose address is verified is told of the offer in
// the inbox and by one email, in the language they signed up in, with the
// deadline in Beijing time, a link to accept and a one-click unsubscribe.
func TestSeatOfferReachesInboxAndMail(t *testing.T) {
	store := openStore(t)
	mailer := &fakeMailer{}
	s := start(t, store, Config{Mailer: mailer})
	member(t, store, ada, "Ada", "ada@example.com", "zh-CN", true)
	member(t, store, bo, "Bo", "bo@example.com", "en", true)
	deadline := time.Date(2027, 10, 1, 6, 30, 0, 0, time.UTC)
	edition(t, store, "e27",
		events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-a", MemberID: ada, Status: events.StatusConfirmed},
		events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-b", MemberID: bo, Status: events.StatusWaitlisted})
	put(t, store, events.EditionStream("e27"),
		events.RegistrationCancelled{EditionID: "e27", RegistrationID: "e27-a"},
		events.SeatOffered{EditionID: "e27", RegistrationID: "e27-b", ExpiresAt: deadline})

	eventually(t, "three mails are sent", func() bool { return len(mailer.sent()) == 4 })
	byKind := map[string]Message{}
	for _, m := range mailer.sent() {
		byKind[m.Kind+"/"+m.To] = m
	}
	offer, ok := byKind["seat_offered/bo@example.com"]
	if !ok {
		t.Fatalf("no seat offer mailed to Bo: %v", byKind)
	}
	if !strings.Contains(offer.Subject, "Yunqi Conference 2027") || !strings.Contains(offer.Text, "1 October 2027, 14:30 (Beijing time)") {
		t.Errorf("offer mail in English with the deadline in Beijing time:\n%s\n%s", offer.Subject, offer.Text)
	}
	if !strings.Contains(offer.Text, "https://yunqi.example/conference/registrations/e27-b") || !strings.Contains(offer.HTML, `href="https://yunqi.example/conference/registrations/e27-b"`) {
		t.Errorf("offer mail lacks the link to accept:\n%s\n%s", offer.Text, offer.HTML)
	}
	if !strings.HasPrefix(offer.Unsub, "https://yunqi.example/notify/unsubscribe?t=") {
		t.Errorf("offer mail unsubscribe link %q", offer.Unsub)
	}
	if c := byKind["registration_cancelled/ada@example.com"]; !strings.Contains(c.Subject, "2027 云栖大会") || !strings.Contains(c.Text, "Ada，你好") {
		t.Errorf("Ada's cancellation is not in Chinese: %q\n%s", c.Subject, c.Text)
	}
	if got := inboxKinds(s, bo); strings.Join(got, ",") != "seat_offered,registration_waitlisted" {
		t.Errorf("Bo's inbox = %v", got)
	}
	items, unread, _ := s.inboxPage(bo, "zh-CN", "", 10)
	if unread != 2 || !strings.Contains(items[0].Title, "座位") {
		t.Errorf("Bo's inbox in Chinese: unread %d, %q", unread, items[0].Title)
	}
	eventually(t, "the offer's delivery is recorded", func() bool {
		evs, _ := store.ReadStream(t.Context(), events.MailStream(offer.ID), events.ReadOptions{})
		return len(evs) == 2
	})
	if got := mailStream(t, store, offer.ID); strings.Join(got, ",") != "MailClaimed,MailSent" {
		t.Errorf("the offer's mail stream = %v", got)
	}
}

// Nothing is mailed to an address nobody has confirmed, except the mail
// that asks to confirm it; the inbox has every notification either way.
func TestOnlyVerifiedAddressesAreMailed(t *testing.T) {
	store := openStore(t)
	mailer := &fakeMailer{}
	s := start(t, store, Config{Mailer: mailer})
	member(t, store, ada, "Ada", "ada@example.com", "en", false)
	put(t, store, events.UserStream(ada), events.EmailVerificationRequested{UserID: ada,
		Personal: events.VerificationPersonal{Email: "ada@example.com", Code: "c0de"}, ExpiresAt: time.Now().Add(48 * time.Hour)})
	edition(t, store, "e27", events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-a", MemberID: ada, Status: events.StatusConfirmed})
	eventually(t, "the verification mail is sent", func() bool { return len(mailer.sent()) == 1 })
	v := mailer.sent()[0]
	if v.Kind != KindVerifyEmail || !strings.Contains(v.Text, "https://yunqi.example/identity/verify-email?u="+ada+"&c=c0de") || v.Unsub != "" {
		t.Errorf("verification mail: %+v", v)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(mailer.sent()); n != 1 {
		t.Errorf("%d mails to an unverified address, want only the verification", n)
	}
	if got := inboxKinds(s, ada); strings.Join(got, ",") != "registration_confirmed" {
		t.Errorf("inbox = %v (the verification mail is not an inbox item)", got)
	}

	// Once verified, the next notification is mailed; an address change
	// stops mail until the new address is verified.
	put(t, store, events.UserStream(ada), events.EmailVerified{UserID: ada, Personal: events.EmailPersonal{Email: "ada@example.com"}})
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"})
	eventually(t, "the role mail is sent", func() bool { return len(mailer.sent()) == 2 })
	put(t, store, events.UserStream(ada), events.EmailChanged{UserID: ada, Personal: events.EmailPersonal{Email: "ada@new.example"}},
		events.RoleRevoked{UserID: ada, Role: "judge"})
	time.Sleep(200 * time.Millisecond)
	if n := len(mailer.sent()); n != 2 {
		t.Errorf("mail went to an unverified new address: %v", mailer.sent()[n-1])
	}
}

func TestPreferencesTakeAKindOutOfEmail(t *testing.T) {
	store := openStore(t)
	mailer := &fakeMailer{}
	s := start(t, store, Config{Mailer: mailer})
	member(t, store, ada, "Ada", "ada@example.com", "en", true)
	if err := s.setPrefs(t.Context(), ada, map[string]bool{KindRoleGranted: false}, "preferences"); err != nil {
		t.Fatal(err)
	}
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"}, events.RoleRevoked{UserID: ada, Role: "judge"})
	eventually(t, "the revocation is mailed", func() bool { return len(mailer.sent()) == 1 })
	if k := mailer.sent()[0].Kind; k != KindRoleRevoked {
		t.Errorf("mailed %s, want only role_revoked", k)
	}
	if got := inboxKinds(s, ada); len(got) != 2 {
		t.Errorf("inbox = %v: turning email off must keep the inbox", got)
	}
	// A one-click unsubscribe link works without a log-in, once forged or
	// expired links are told apart.
	tok := s.unsubToken(ada, KindRoleRevoked, time.Now().Add(time.Hour))
	if u, k, err := s.readUnsubToken(tok); err != nil || u != ada || k != KindRoleRevoked {
		t.Fatalf("token read back as %q %q %v", u, k, err)
	}
	if _, _, err := s.readUnsubToken(tok[:len(tok)-2] + "xx"); !errors.Is(err, errTokenForged) {
		t.Errorf("a forged token: %v", err)
	}
	if _, _, err := s.readUnsubToken(s.unsubToken(ada, KindRoleRevoked, time.Now().Add(-time.Minute))); !errors.Is(err, errTokenExpired) {
		t.Errorf("an expired token: %v", err)
	}
	if _, _, err := s.readUnsubToken("bm9wZQ.bm9wZQ"); !errors.Is(err, errTokenForged) {
		t.Errorf("garbage: %v", err)
	}
}

// Two notifiers on one log: every mail goes out exactly once.
func TestTwoNotifiersSendEachMailOnce(t *testing.T) {
	store := openStore(t)
	var sends atomic.Int64
	count := func(Message) error { sends.Add(1); return nil }
	a, b := &fakeMailer{fail: count}, &fakeMailer{fail: count}
	start(t, store, Config{Mailer: a, Name: "a", Batch: 3})
	start(t, store, Config{Mailer: b, Name: "b", Batch: 3})
	const n = 60
	for i := range n {
		id := fmt.Sprintf("0193a5d0-0000-7000-8000-%012d", i)
		member(t, store, id, "P", fmt.Sprintf("p%d@example.com", i), "en", true)
		put(t, store, events.UserStream(id), events.RoleGranted{UserID: id, Role: "judge"})
	}
	eventually(t, "every mail is sent", func() bool { return len(a.sent())+len(b.sent()) >= n })
	time.Sleep(300 * time.Millisecond)
	if got := sends.Load(); got != n {
		t.Errorf("%d sends for %d mails (a %d, b %d)", got, n, len(a.sent()), len(b.sent()))
	}
	if len(a.sent()) == 0 || len(b.sent()) == 0 {
		t.Logf("one notifier sent everything (a %d, b %d): the claims still kept them apart", len(a.sent()), len(b.sent()))
	}
}

// A notifier that died after claiming a mail leaves it to the next one
// once its lease is over; the repeat carries the same Message-ID.
func TestAbandonedClaimIsTakenOver(t *testing.T) {
	store := openStore(t)
	member(t, store, ada, "Ada", "ada@example.com", "en", true)
	put(t, store, events.MailCursorStream("main"), events.MailCursorMoved{Position: events.Start})
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"})
	evs, _ := store.ReadStream(t.Context(), events.UserStream(ada), events.ReadOptions{FromEnd: true, Direction: events.Backwards, Count: 1})
	id := noteID(evs[0].ID, ada, KindRoleGranted, "email")
	put(t, store, events.MailStream(id), events.MailClaimed{NotificationID: id, Kind: KindRoleGranted, UserID: ada, Attempt: 1,
		Notifier: "dead", LeaseUntil: time.Now().Add(300 * time.Millisecond)})
	mailer := &fakeMailer{}
	start(t, store, Config{Mailer: mailer})
	time.Sleep(100 * time.Millisecond)
	if len(mailer.sent()) != 0 {
		t.Fatal("a mail under another notifier's lease was sent")
	}
	eventually(t, "the mail is taken over", func() bool { return len(mailer.sent()) == 1 })
	if m := mailer.sent()[0]; m.ID != id {
		t.Errorf("the repeat's id %s, want %s", m.ID, id)
	}
	eventually(t, "it is recorded", func() bool { return len(mailStream(t, store, id)) == 3 })
	if got := mailStream(t, store, id); strings.Join(got, ",") != "MailClaimed,MailClaimed,MailSent" {
		t.Errorf("mail stream %v", got)
	}
}

// A server that keeps failing is retried with backoff, then the mail is
// marked failed for the organisers; a refusal for good fails at once.
func TestFailingMailIsRetriedThenListedAsFailed(t *testing.T) {
	store := openStore(t)
	var tries atomic.Int64
	mailer := &fakeMailer{fail: func(m Message) error {
		if m.To == "gone@example.com" {
			return &DeliveryError{Reason: "550 5.1.1 mailbox unavailable"}
		}
		tries.Add(1)
		return &DeliveryError{Temporary: true, Reason: "421 4.3.2 try again later"}
	}}
	s := start(t, store, Config{Mailer: mailer, MaxAttempts: 3, RetryBase: 20 * time.Millisecond})
	member(t, store, ada, "Ada", "ada@example.com", "en", true)
	member(t, store, bo, "Bo", "gone@example.com", "en", true)
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"})
	put(t, store, events.UserStream(bo), events.RoleGranted{UserID: bo, Role: "judge"})
	eventually(t, "both mails are given up", func() bool { f, _, _ := s.mailReport(10); return len(f) == 2 })
	if n := tries.Load(); n != 3 {
		t.Errorf("%d attempts at a temporary failure, want 3", n)
	}
	failed, sent, pending := s.mailReport(10)
	if sent != 0 || pending != 0 {
		t.Errorf("sent %d pending %d", sent, pending)
	}
	reasons := map[string]string{}
	for _, f := range failed {
		reasons[f.Name] = fmt.Sprintf("%d %s", f.Attempts, f.Reason)
	}
	if reasons["Bo"] != "1 550 5.1.1 mailbox unavailable" || reasons["Ada"] != "3 421 4.3.2 try again later" {
		t.Errorf("failures: %v", reasons)
	}
	if got := inboxKinds(s, bo); len(got) != 1 {
		t.Errorf("a failed mail's notification is still in the inbox: %v", got)
	}
}

// Switching mail on for a log with history mails nothing of the past.
func TestMailStartsFromNow(t *testing.T) {
	store := openStore(t)
	member(t, store, ada, "Ada", "ada@example.com", "en", true)
	put(t, store, events.UserStream(ada), events.RoleGranted{UserID: ada, Role: "judge"})
	mailer := &fakeMailer{}
	s := start(t, store, Config{Mailer: mailer})
	put(t, store, events.UserStream(ada), events.RoleRevoked{UserID: ada, Role: "judge"})
	eventually(t, "the new notification is mailed", func() bool { return len(mailer.sent()) == 1 })
	if k := mailer.sent()[0].Kind; k != KindRoleRevoked {
		t.Errorf("mailed %s from before mail was on", k)
	}
	if got := inboxKinds(s, ada); len(got) != 2 {
		t.Errorf("inbox %v", got)
	}
}

func TestMarkReadAndOverview(t *testing.T) {
	store := openStore(t)
	s := start(t, store, Config{})
	member(t, store, ada, "Ada", "ada@example.com", "en", false)
	member(t, store, bo, "Bo", "bo@example.com", "en", false)
	put(t, store, events.ApplicationStream("app1"),
		events.ApplicationDrafted{ApplicationID: "app1", Applicant: ada, Profile: events.StartupProfile{NameZH: "青禾数据", NameEN: "Qinghe Data"},
			Personal: events.ApplicantContact{Name: "陈青禾", Email: "qinghe@example.com", Phone: "13800000000"}},
		events.ApplicationSubmitted{ApplicationID: "app1", Round: 1},
		events.ReviewVoted{ApplicationID: "app1", Round: 1, Reviewer: bo, ReviewerPersonal: events.ReviewerPersonal{ReviewerName: "周评审"}, Vote: events.VoteRequestChanges, Comment: "内部意见"},
		events.ReviewNoteAdded{ApplicationID: "app1", Round: 1, Reviewer: bo, Note: "备案号待核实"},
		events.ApplicationChangesRequested{ApplicationID: "app1", Round: 1, DecidedBy: events.DecidedByPolicy, Comment: "请补充团队规模"})
	edition(t, store, "e27", events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-b", MemberID: bo, Status: events.StatusConfirmed},
		events.TicketCheckedIn{EditionID: "e27", RegistrationID: "e27-b", Gate: "east", Device: "gate-phone-7"})
	eventually(t, "Ada has two notifications", func() bool { return len(inboxKinds(s, ada)) == 2 })
	eventually(t, "Bo is checked in", func() bool {
		b := s.overview(bo, "en", 1)
		return len(b.Registrations) == 1 && b.Registrations[0].CheckedIn
	})

	o := s.overview(ada, "en", 10)
	if len(o.Applications) != 1 || len(o.Registrations) != 0 || o.Unread != 2 {
		t.Fatalf("Ada's overview: %+v", o)
	}
	app := o.Applications[0]
	var whats []string
	for _, e := range app.Timeline {
		whats = append(whats, e.What)
	}
	if app.Status != "changes_requested" || strings.Join(whats, ",") != "changes_requested,application_submitted,application_drafted" {
		t.Errorf("application %s, timeline newest first %v", app.Status, whats)
	}
	dump := fmt.Sprintf("%+v", o)
	for _, secret := range []string{"周评审", "内部意见", "备案号", bo, "13800000000"} {
		if strings.Contains(dump, secret) {
			t.Errorf("Ada's overview shows %q: %s", secret, dump)
		}
	}
	if b := s.overview(bo, "en", 10); len(b.Registrations) != 1 || !b.Registrations[0].CheckedIn || strings.Contains(fmt.Sprint(b), "gate-phone-7") {
		t.Errorf("Bo's overview: %+v", b)
	}
	if items := o.Notifications; !strings.Contains(items[0].Title, "Qinghe Data") {
		t.Errorf("newest notification %q", items[0].Title)
	}

	if err := s.markRead(t.Context(), nil, ada, events.NotificationsRead{UserID: ada, IDs: []string{o.Notifications[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if n := s.unread(ada); n != 1 {
		t.Errorf("unread after reading one: %d", n)
	}
	if err := s.markRead(t.Context(), nil, ada, events.NotificationsRead{UserID: ada, All: true}); err != nil {
		t.Fatal(err)
	}
	if n := s.unread(ada); n != 0 {
		t.Errorf("unread after reading all: %d", n)
	}
	// The model is a projection: a fresh notifier on the same log agrees.
	again := start(t, store, Config{})
	if n, m := again.unread(ada), len(inboxKinds(again, ada)); n != 0 || m != 2 {
		t.Errorf("rebuilt from the log: unread %d of %d", n, m)
	}
}

// Every kind is written in both languages, and every template fills in
// what it uses.
func TestEveryKindIsWrittenInBothLanguages(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{"name_zh": "2027 云栖大会", "name_en": "Yunqi Conference 2027", "venue": "云栖小镇",
		"deadline": "2027-10-01T06:30:00Z", "expires": "2027-10-01T06:30:00Z", "session": "Go 实践", "comment": "请补充",
		"reason": "不符合", "team": "青禾", "title": "作品", "rank": "1", "award": "gold", "role": "judge", "collection": "进步集",
		"post": "Go 1.22", "revision": "2", "name": "Ada"}
	for _, l := range langs {
		for _, k := range kinds {
			m, err := r.message(l, "Ada", "https://yunqi.example/x", "https://yunqi.example/notify/preferences", &notification{Kind: k.Kind, Args: args})
			if err != nil {
				t.Errorf("%s %s: %v", l, k.Kind, err)
				continue
			}
			for _, part := range []string{m.Subject, m.Text, m.HTML} {
				if part == "" || strings.Contains(part, "<no value>") || strings.Contains(part, "{{") {
					t.Errorf("%s %s renders %q", l, k.Kind, part)
				}
			}
			zh := strings.ContainsFunc(m.Subject, func(r rune) bool {
				return r >= 0x4e00 && r <= 0x9fff && !strings.ContainsRune("云栖大会小镇实践青禾作品进步集", r)
			})
			if l == "zh-CN" && !zh || l == "en" && zh {
				t.Errorf("%s %s subject is not in its language: %q", l, k.Kind, m.Subject)
			}
		}
	}
	// A line break in a name never starts a header.
	m, _ := r.message("en", "Ada", "x", "y", &notification{Kind: KindTeamJoined, Args: map[string]string{"name": "Eve\r\nBcc: x@evil", "team": "t"}})
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject with a line break: %q", m.Subject)
	}
}

func TestSMTPURL(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{"smtp://user:pa55@mail.example.com:587", ""},
		{"smtps://mail.example.com", ""},
		{"smtp://127.0.0.1:2525", ""},
		{"http://mail.example.com", `scheme "http" is not smtp or smtps`},
		{"smtp://", "no host"},
		{"smtp://mail.example.com:99999", "port"},
		{"smtp://u:p@mail.example.com/inbox", "no path"},
		{"::nope", "not a URL"},
	} {
		_, err := ParseSMTPURL(tc.url)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.url, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "pa55") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	if got := RedactSMTPURL("smtp://user:pa55@mail.example.com:587"); strings.Contains(got, "pa55") || !strings.Contains(got, "user") {
		t.Errorf("redacted %q", got)
	}
	if _, err := NewSMTPMailer(SMTPConfig{URL: "smtp://mail.example.com"}); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Errorf("no sender: %v", err)
	}
	if _, err := NewSMTPMailer(SMTPConfig{URL: "smtp://mail.example.com", From: "not an address"}); err == nil {
		t.Error("a sender that is not an address was taken")
	}
}
