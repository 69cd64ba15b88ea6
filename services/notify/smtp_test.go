package notify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/mailpit"
)

func newMailer(t testing.TB, url string) Mailer {
	t.Helper()
	m, err := NewSMTPMailer(SMTPConfig{URL: url, From: "Yunqi <yunqi@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Through a real SMTP server: the message carries its kind, a Message-ID
// made from the notification id, the one-click unsubscribe headers, text
// and HTML; an address the server refuses is marked failed at once.
func TestMailThroughARealSMTPServer(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-allowed-recipients", `@example\.com$`)
	store := openStore(t)
	s := start(t, store, Config{Mailer: newMailer(t, "smtp://"+mp.SMTP)})
	member(t, store, ada, "陈青禾", "ada@example.com", "zh-CN", true)
	member(t, store, bo, "Bo", "bo@blocked.example", "en", true)
	deadline := time.Date(2027, 10, 1, 6, 30, 0, 0, time.UTC)
	edition(t, store, "e27",
		events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-a", MemberID: ada, Status: events.StatusWaitlisted},
		events.RegistrationPlaced{EditionID: "e27", RegistrationID: "e27-b", MemberID: bo, Status: events.StatusWaitlisted})
	put(t, store, events.EditionStream("e27"),
		events.SeatOffered{EditionID: "e27", RegistrationID: "e27-a", ExpiresAt: deadline},
		events.SeatOffered{EditionID: "e27", RegistrationID: "e27-b", ExpiresAt: deadline})

	eventually(t, "Ada's two mails arrive", func() bool { return mp.Count(t) == 2 })
	eventually(t, "Bo's two are given up", func() bool { f, _, _ := s.mailReport(10); return len(f) == 2 })
	var offer mailpit.Message
	var offerID string
	for _, sum := range mp.Messages(t) {
		m := mp.Get(t, sum.ID)
		if strings.Join(m.Headers["X-Yunqi-Kind"], ",") == KindSeatOffered {
			offer, offerID = m, sum.MessageID
		}
		if len(sum.To) != 1 || sum.To[0].Address != "ada@example.com" {
			t.Errorf("a mail went to %v", sum.To)
		}
	}
	if offerID == "" {
		t.Fatal("no seat_offered mail arrived")
	}
	if !strings.HasSuffix(offerID, "@example.com") || len(strings.TrimSuffix(offerID, "@example.com")) != 36 {
		t.Errorf("Message-ID %q is not <notification id@sender's domain>", offerID)
	}
	h := offer.Headers
	if u := strings.Join(h["List-Unsubscribe"], ""); !strings.HasPrefix(u, "<https://yunqi.example/notify/unsubscribe?t=") {
		t.Errorf("List-Unsubscribe %q", u)
	}
	if p := strings.Join(h["List-Unsubscribe-Post"], ""); p != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", p)
	}
	if l := strings.Join(h["Content-Language"], ""); l != "zh-CN" {
		t.Errorf("Content-Language %q", l)
	}
	if !strings.Contains(offer.Text, "陈青禾，你好") || !strings.Contains(offer.Text, "2027年10月1日 14:30（北京时间）") ||
		!strings.Contains(offer.HTML, `href="https://yunqi.example/conference/registrations/e27-a"`) {
		t.Errorf("the offer reads:\n%s\n%s", offer.Text, offer.HTML)
	}
	failed, sent, _ := s.mailReport(10)
	if sent != 2 || !strings.Contains(failed[0].Reason, "550") || failed[0].Attempts != 1 {
		t.Errorf("sent %d, failed %+v", sent, failed)
	}
}

// A server that refuses the log-in is said at start-up, on /readyz, with
// the setting to fix and without the password.
func TestRefusedLogInIsReported(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	if err := os.WriteFile(auth, []byte("yunqi:right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailpit.StartWith(t, "--smtp-auth-file", auth, "--smtp-auth-allow-insecure")
	store := openStore(t)
	s := start(t, store, Config{Mailer: newMailer(t, "smtp://yunqi:wrong-password@"+mp.SMTP)})
	eventually(t, "readyz names the refused log-in", func() bool { return s.Ready(t.Context()) != nil })
	err := s.Ready(t.Context())
	if !strings.Contains(err.Error(), "refused the log-in") || !strings.Contains(err.Error(), "--smtp-url") || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("readyz: %v", err)
	}
	good := newMailer(t, "smtp://yunqi:right-password@"+mp.SMTP)
	if err := good.Check(t.Context()); err != nil {
		t.Errorf("the right password: %v", err)
	}
	if err := newMailer(t, "smtp://yunqi:wrong-password@"+mp.SMTP).Check(t.Context()); !errors.Is(err, ErrLogInRefused) {
		t.Errorf("the wrong password: %v", err)
	}
}

// BenchmarkOfferMails measures the sustained rate of offer mails from the
// log to a real SMTP server: b.N offers to verified members, timed from
// the first offer appended to the last message stored by mailpit.
func BenchmarkOfferMails(b *testing.B) {
	mp := mailpit.Start(b)
	store := openStore(b)
	start(b, store, Config{Mailer: newMailer(b, "smtp://"+mp.SMTP)})
	n := b.N
	regs := make([]any, 0, n)
	for i := range n {
		id := fmt.Sprintf("0193a5d0-0000-7000-8000-%012d", i)
		member(b, store, id, "P", fmt.Sprintf("p%d@example.com", i), "en", true)
		regs = append(regs, events.RegistrationPlaced{EditionID: "e27", RegistrationID: fmt.Sprintf("e27-%d", i), MemberID: id, Status: events.StatusWaitlisted})
	}
	edition(b, store, "e27")
	for len(regs) > 0 {
		k := min(len(regs), 500)
		put(b, store, events.EditionStream("e27"), regs[:k]...)
		regs = regs[k:]
	}
	eventually(b, "the waitlist mails arrive", func() bool { return mp.Count(b) >= n })
	offers := make([]any, n)
	for i := range n {
		offers[i] = events.SeatOffered{EditionID: "e27", RegistrationID: fmt.Sprintf("e27-%d", i), ExpiresAt: time.Now().Add(24 * time.Hour)}
	}
	b.ResetTimer()
	t0 := time.Now()
	for len(offers) > 0 {
		k := min(len(offers), 500)
		put(b, store, events.EditionStream("e27"), offers[:k]...)
		offers = offers[k:]
	}
	deadline := time.Now().Add(5 * time.Minute)
	for mp.Count(b) < 2*n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d offer mails arrived", mp.Count(b)-n, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(n)/el.Seconds(), "mails/s")
	b.ReportMetric(el.Seconds(), "s")
}
