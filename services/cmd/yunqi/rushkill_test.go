package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestHelperServe is not a test: TestRushSurvivesSIGKILL runs the test
// binary again with this one selected to get a server it can kill.
func TestHelperServe(t *testing.T) {
	data := os.Getenv("YUNQI_TEST_SERVE_DATA")
	if data == "" {
		t.Skip("runs only as the server of TestRushSurvivesSIGKILL")
	}
	args := []string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "error"}
	if extra := os.Getenv("YUNQI_TEST_SERVE_ARGS"); extra != "" {
		args = append(args, strings.Split(extra, "\n")...)
	}
	err := run(context.Background(), args, quietEnv(), os.Stdout)
	t.Fatalf("server stopped: %v", err)
}

func startChildServer(t *testing.T, data string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "YUNQI_TEST_SERVE_DATA="+data, "YUNQI_TEST_SERVE_ARGS="+strings.Join(extra, "\n"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, url
		}
	}
	t.Fatal("the server never said where it listens")
	return nil, ""
}

// TestRushSurvivesSIGKILL kills the server in the middle of a rush, twice,
// restarts it each time, and checks that every registration that got a 201
// is in the ledger with the answer given, that no seat is counted twice,
// and that the API's counts are the events'. Members whose request was cut
// off retry with the same Idempotency-Key and are never registered twice.
func TestRushSurvivesSIGKILL(t *testing.T) {
	members, seats, clients := 3000, 300, 50
	if testing.Short() {
		members, seats, clients = 600, 60, 20
	}
	data := t.TempDir()
	ctx := t.Context()
	child, url := startChildServer(t, data)
	store := openSealedLog(t, data)
	orgID := "0193a5d0-0000-7000-8000-00000000000a"
	if err := identity.CreateMemberDirect(ctx, store, orgID, "Organiser"); err != nil {
		t.Fatal(err)
	}
	ttl := identity.Config{}.Defaults().AccessTTL // the child server's, which refuses longer-lived tokens
	org, err := identity.MintAccessToken(data, orgID, "Organiser", []string{auth.RoleOrganizer}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := makeMembers(ctx, store, data, members, "Killtest", ttl)
	if err != nil {
		t.Fatal(err)
	}
	client := newRushClient(url, clients)
	sessions, err := createRushEdition(ctx, client, org, "kill", members, seats, len(rushTracks))
	if err != nil {
		t.Fatal(err)
	}

	answers := make([]placement, members)
	done := make([]bool, members)
	for round := 0; ; round++ {
		var pending []int
		for i := range members {
			if !done[i] {
				pending = append(pending, i)
			}
		}
		if len(pending) == 0 {
			break
		}
		if round > 5 {
			t.Fatalf("%d members still unregistered after %d restarts", len(pending), round)
		}
		// The first two rounds are killed after about a third of what is
		// left; the last one finishes.
		killAt := int64(-1)
		if round < 2 {
			killAt = int64(len(pending)/3) + 1
		}
		var ok, next atomic.Int64
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					j := int(next.Add(1)) - 1
					if j >= len(pending) {
						return
					}
					i := pending[j]
					var p placement
					_, err := client.do(ctx, "POST", "/api/conference/editions/kill/registrations", ms[i].token, "kill-"+strconv.Itoa(i),
						map[string]any{"sessions": []string{sessions[i%len(sessions)]}}, &p)
					if err != nil {
						continue // cut off by the kill: retried with the same key next round
					}
					answers[i], done[i] = p, true
					if ok.Add(1) == killAt {
						child.Process.Signal(syscall.SIGKILL)
					}
				}
			})
		}
		wg.Wait()
		if killAt >= 0 {
			child.Wait()
			t.Logf("round %d: %d of %d got a 201 before the kill", round, ok.Load(), len(pending))
		}
		got := map[string]placement{}
		for i, a := range answers {
			if done[i] {
				got[a.ID] = a
			}
		}
		audit, err := auditLedger(ctx, store, "kill", got)
		if err != nil {
			t.Fatal(err)
		}
		if audit.lost != 0 || audit.oversold != 0 || audit.outOfOrder != 0 {
			t.Fatalf("round %d: lost %d, oversold %d, out of order %d", round, audit.lost, audit.oversold, audit.outOfOrder)
		}
		if killAt >= 0 {
			child, url = startChildServer(t, data)
			client = newRushClient(url, clients)
		}
		var counts editionCounts
		if _, err := client.do(ctx, "GET", "/api/conference/editions/kill", "", "", nil, &counts); err != nil {
			t.Fatal(err)
		}
		if err := audit.matches(counts); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	var counts editionCounts
	if _, err := client.do(ctx, "GET", "/api/conference/editions/kill", "", "", nil, &counts); err != nil {
		t.Fatal(err)
	}
	if counts.Confirmed != members {
		t.Errorf("%d admitted, want %d", counts.Confirmed, members)
	}
	for _, s := range counts.Sessions {
		if s.Confirmed != seats || s.Waitlisted != members/len(sessions)-seats {
			t.Errorf("session %s: %d confirmed, %d waitlisted", s.ID, s.Confirmed, s.Waitlisted)
		}
	}
}
