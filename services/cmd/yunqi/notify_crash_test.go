package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	mailserver "github.com/yunqi-town/yunqi/infra/mailpit"
)

// TestMailSurvivesSIGKILL: two notifiers share a log (the whole server,
// and one running the notifier alone, as in split mode) and a real SMTP
// server. The first is killed with SIGKILL in the middle of sending, then
// started again. Every notification must reach its recipient, and where
// one arrived twice (the kill fell between the server's acceptance and the
// record), both copies carry the same Message-ID.
func TestMailSurvivesSIGKILL(t *testing.T) {
	people := 400
	if testing.Short() {
		people = 120
	}
	mp := mailserver.Start(t)
	data := t.TempDir()
	store := openSealedLog(t, data)
	ctx := t.Context()
	appendAll := func(stream string, payloads ...any) {
		t.Helper()
		var ps []events.Proposed
		for _, p := range payloads {
			e, err := events.Types.New(p, events.Metadata{Actor: events.ActorSystem, Visibility: events.Owner})
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, e)
		}
		if _, err := store.Append(ctx, stream, events.Any, ps...); err != nil {
			t.Fatal(err)
		}
	}
	// Mail is on from the start of this log, so that what follows is due.
	appendAll(events.MailCursorStream("main"), events.MailCursorMoved{Position: events.Start})
	for i := range people {
		id := fmt.Sprintf("0193a5d0-0000-7000-8000-%012d", i)
		email := fmt.Sprintf("p%d@example.com", i)
		lang := []string{"zh-CN", "en"}[i%2]
		appendAll(events.UserStream(id),
			events.UserRegistered{UserID: id, Personal: events.UserPersonal{Email: email, DisplayName: fmt.Sprint("P", i)}, Lang: lang},
			events.EmailVerified{UserID: id, Personal: events.EmailPersonal{Email: email}},
			events.RoleGranted{UserID: id, Role: "judge"})
	}
	mail := []string{"--smtp-url", "smtp://" + mp.SMTP, "--smtp-from", "yunqi@example.com", "--mail-lease", "2s"}
	first, _ := startChildServer(t, data, mail...)
	startChildServer(t, data, append([]string{"--services", "notify"}, mail...)...)

	killed := false
	deadline := time.Now().Add(90 * time.Second)
	for !killed && time.Now().Before(deadline) {
		if n := mp.Count(t); n >= people/4 {
			first.Process.Signal(syscall.SIGKILL)
			first.Wait()
			killed = true
			t.Logf("killed the first notifier after %d mails had arrived", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !killed {
		t.Fatalf("only %d mails arrived before the deadline", mp.Count(t))
	}
	startChildServer(t, data, mail...)

	// Every recipient gets their mail; copies share one Message-ID.
	ids := map[string]map[string]bool{}
	for time.Now().Before(deadline) {
		ids = map[string]map[string]bool{}
		for _, m := range mp.Messages(t) {
			for _, to := range m.To {
				if ids[to.Address] == nil {
					ids[to.Address] = map[string]bool{}
				}
				ids[to.Address][m.MessageID] = true
			}
		}
		if len(ids) == people {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ids) != people {
		t.Fatalf("%d of %d recipients got their mail", len(ids), people)
	}
	for to, set := range ids {
		if len(set) != 1 {
			t.Errorf("%s got %d distinct Message-IDs for one notification", to, len(set))
		}
	}
	// And the log says each was sent: no mail left pending or failed.
	sent, failed := 0, 0
	for after := events.Start; ; {
		page, err := store.ReadAll(ctx, events.ReadAllOptions{After: after, Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			switch e.Type {
			case "notify.MailSent":
				sent++
			case "notify.MailFailed":
				failed++
			}
		}
		after = page[len(page)-1].Position
	}
	total := mp.Count(t)
	t.Logf("%d notifications, %d messages at the server (%d repeats with the same Message-ID), %d MailSent records", people, total, total-people, sent)
	if failed != 0 || sent < people {
		t.Errorf("the log records %d sent and %d failed of %d", sent, failed, people)
	}
}
