package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "bench", []command{
		{"rush", "registration rush: many members register for one edition at once over HTTP", benchRushCmd},
	}, args, getenv, stdout)
}

// rushConfig is the shape of a rush. The defaults are the 2015 conference:
// 22,000 attendees, five tracks of 2,000 seats.
type rushConfig struct {
	Server          string
	Data            string
	Edition         string
	Members         int
	Clients         int
	SessionCapacity int
	Cancellations   int
	CPUProfile      string
	CompareSealing  int
	// AccessTTL is the life of the tokens the bench mints: the server's
	// --access-ttl, since it refuses longer-lived ones.
	AccessTTL time.Duration
}

// The five tracks of the conference since 2010.
var rushTracks = []struct{ id, zh, en string }{
	{"elastic-compute", "弹性计算", "Elastic compute"},
	{"large-scale-storage", "大规模存储", "Large-scale storage"},
	{"cloud-network", "云网络", "Cloud network"},
	{"large-scale-computing", "大规模计算", "Large-scale computing"},
	{"big-data", "大数据", "Big data"},
}

func benchRushCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c rushConfig
	fs := flagSet("bench rush")
	set := config.New(fs, envPrefix, getenv)
	set.String(&c.Server, "server", "", "URL of a running server (same machine); empty starts one on a temporary data dir")
	set.String(&c.Data, "data", "", "data dir of the running server (for its signing key and event log); required with --server")
	set.String(&c.Edition, "edition", "rush", "id of the edition to create")
	set.Int(&c.Members, "members", 22000, "members registering (also the edition's capacity)")
	set.Int(&c.Clients, "clients", 200, "concurrent HTTP clients")
	set.Int(&c.SessionCapacity, "session-capacity", 2000, "seats in each of the five track sessions")
	set.Int(&c.Cancellations, "cancellations", 1000, "seat holders who cancel in the second phase")
	set.Int(&c.CompareSealing, "compare-sealing", 0, "run this many rounds, each a rush on a server that seals personal data and one on a server that does not, alternating, on fresh data dirs (no --server)")
	set.String(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the rush (this process: the clients, and the server when it runs here) to this file")
	set.Duration(&c.AccessTTL, "access-ttl", identity.Config{}.Defaults().AccessTTL,
		"life of the access tokens minted for the members: the server's --access-ttl, which refuses longer-lived tokens")
	help, err := parseFlags(fs, set.Parse, args, stdout,
		"bench rush [--server URL --data DIR] [--edition ID]", `
Creates members directly as identity events and mints their access tokens
with the data dir's signing key (the rush measures registration, not
password hashing), creates an edition with the five track sessions, and has
the members register over HTTP from many concurrent clients, each for one
session, spread evenly. It then checks every answer and count against the
events in the edition's ledger. A second phase on a separate edition
(<edition>-cancel) has seat holders cancel and checks that exactly as many
waitlisted members get an offer, in waitlist order; it is separate so that
the main edition stays as the rush left it for anyone to inspect.`)
	if help || err != nil {
		return err
	}
	if c.Members < 5 || c.Clients < 1 || c.SessionCapacity < 1 || c.Cancellations < 0 {
		return errors.New("bench rush: --members must be at least 5, --clients and --session-capacity at least 1")
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > identity.MaxAccessTTL {
		return fmt.Errorf("bench rush: --access-ttl must be between 1m and %s", identity.MaxAccessTTL)
	}
	if c.Server != "" && c.Data == "" {
		return errors.New("bench rush: --server needs --data, the running server's data dir")
	}
	if c.CompareSealing > 0 {
		if c.Server != "" {
			return errors.New("bench rush: --compare-sealing starts its own servers; drop --server")
		}
		return compareSealing(ctx, c, getenv, stdout)
	}
	if c.Server == "" {
		dir, err := os.MkdirTemp("", "yunqi-rush-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.Data = dir
		srvCtx, stop := context.WithCancel(ctx)
		url, done, err := startServer(srvCtx, dir, getenv)
		if err != nil {
			stop()
			return err
		}
		defer func() { stop(); <-done }()
		c.Server = url
	}
	res, err := rush(ctx, c, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.line())
	if res.oversold != 0 || res.lost != 0 {
		return fmt.Errorf("bench rush: oversold %d, lost %d", res.oversold, res.lost)
	}
	return nil
}

// compareSealing measures what sealing personal data costs the rush: the
// same rush on a sealing server and on one that seals nothing, alternating
// so that both see the same machine.
func compareSealing(ctx context.Context, c rushConfig, getenv func(string) string, stdout io.Writer) error {
	for round := 1; round <= c.CompareSealing; round++ {
		for _, sealed := range []bool{true, false} {
			runCtx := ctx
			label := "sealed"
			if !sealed {
				runCtx, label = withoutSealing(ctx), "unsealed"
			}
			dir, err := os.MkdirTemp("", "yunqi-rush-*")
			if err != nil {
				return err
			}
			srvCtx, stop := context.WithCancel(runCtx)
			url, done, err := startServer(srvCtx, dir, getenv)
			if err == nil {
				rc := c
				rc.Server, rc.Data = url, dir
				var res rushResult
				if res, err = rush(runCtx, rc, io.Discard); err == nil {
					fmt.Fprintf(stdout, "round %d, %s: %s\n", round, label, res.line())
				}
			}
			stop()
			<-done
			os.RemoveAll(dir)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// startServer runs serve in this process on a free port.
func startServer(ctx context.Context, dir string, getenv func(string) string) (string, <-chan struct{}, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := run(ctx, []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "error"}, getenv, pw)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		return "", done, err
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), done, nil
}

type rushResult struct {
	n              int
	elapsed        time.Duration
	p50, p99       time.Duration
	oversold, lost int
	// inboxLag: from the last answer until every confirmation was in its
	// owner's inbox (when a notifier runs).
	inboxLag      time.Duration
	inboxMeasured bool
}

func (r rushResult) line() string {
	s := fmt.Sprintf("rush: %d registrations in %.1f s (%.0f/s), p50 %d ms, p99 %d ms, oversold %d, lost %d",
		r.n, r.elapsed.Seconds(), float64(r.n)/r.elapsed.Seconds(), r.p50.Milliseconds(), r.p99.Milliseconds(), r.oversold, r.lost)
	if r.inboxMeasured {
		s += fmt.Sprintf(", every confirmation in its owner's inbox %.1f s after the last answer", r.inboxLag.Seconds())
	}
	return s
}

// inboxLag is how long after the rush's last answer the notifier has put
// every confirmation into its owner's inbox. The notifier applies the log
// in order, so the members answered last stand for everyone; a sample of
// the others is checked too. Without a notifier (its API answers 404)
// nothing is measured.
func inboxLag(ctx context.Context, client *rushClient, members []member, finished []int, end time.Time) (time.Duration, bool, error) {
	if len(finished) == 0 {
		return 0, false, nil
	}
	var probe struct {
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	if code, _ := client.do(ctx, "GET", "/api/notify/inbox?limit=1", members[0].token, "", nil, &probe); code == http.StatusNotFound {
		return 0, false, nil
	}
	check := finished[max(0, len(finished)-50):]
	for i := 0; i < len(finished); i += max(1, len(finished)/200) {
		check = append(check, finished[i])
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, i := range check {
		for {
			probe.Items = nil
			if _, err := client.do(ctx, "GET", "/api/notify/inbox?limit=5", members[i].token, "", nil, &probe); err != nil {
				return 0, false, err
			}
			if slices.ContainsFunc(probe.Items, func(it struct {
				Kind string `json:"kind"`
			}) bool {
				return it.Kind == "registration_confirmed" || it.Kind == "registration_waitlisted"
			}) {
				break
			}
			if time.Now().After(deadline) {
				return 0, false, fmt.Errorf("after the rush: member %d's confirmation is not in their inbox after 2 minutes", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(end), true, nil
}

// rushClient talks to the server with enough connections for every client.
type rushClient struct {
	base string
	http *http.Client
}

func newRushClient(base string, conns int) *rushClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = conns*2, conns*2, 0
	return &rushClient{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *rushClient) do(ctx context.Context, method, path, token, key string, body any, out any) (int, error) {
	var rd io.Reader
	if raw, ok := body.(json.RawMessage); ok {
		rd = bytes.NewReader(raw)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	return resp.StatusCode, nil
}

type member struct {
	id, token string
}

// makeMembers appends n members to the log, many at a time so that group
// commit batches them, and mints their tokens.
func makeMembers(ctx context.Context, store events.Store, data string, n int, prefix string, ttl time.Duration) ([]member, error) {
	out := make([]member, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := events.NewID().String()
				name := fmt.Sprintf("%s %d", prefix, i+1)
				if err := identity.CreateMemberDirect(ctx, store, id, name); err != nil {
					errs <- err
					return
				}
				tok, err := identity.MintAccessToken(data, id, name, nil, ttl)
				if err != nil {
					errs <- err
					return
				}
				out[i] = member{id, tok}
			}
		})
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

type placement struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Sessions []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"sessions"`
}

type editionCounts struct {
	Capacity   int `json:"capacity"`
	Confirmed  int `json:"confirmed"`
	Waitlisted int `json:"waitlisted"`
	Sessions   []struct {
		ID         string `json:"id"`
		Capacity   int    `json:"capacity"`
		Confirmed  int    `json:"confirmed"`
		Offered    int    `json:"offered"`
		Waitlisted int    `json:"waitlisted"`
	} `json:"sessions"`
}

func rush(ctx context.Context, c rushConfig, stdout io.Writer) (rushResult, error) {
	// Through the sealing store, as the server writes: the members'
	// names are personal data.
	store, err := openPersonalLog(ctx, &commonConfig{Data: c.Data}, "", false, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return rushResult{}, fmt.Errorf("open the server's event log: %w", err)
	}
	defer store.Close()
	client := newRushClient(c.Server, c.Clients)

	orgID := events.NewID().String()
	if err := identity.CreateMemberDirect(ctx, store, orgID, "Rush organiser"); err != nil {
		return rushResult{}, err
	}
	orgToken, err := identity.MintAccessToken(c.Data, orgID, "Rush organiser", []string{auth.RoleOrganizer}, c.AccessTTL)
	if err != nil {
		return rushResult{}, err
	}
	members, err := makeMembers(ctx, store, c.Data, c.Members, "Developer", c.AccessTTL)
	if err != nil {
		return rushResult{}, fmt.Errorf("create members: %w", err)
	}
	sessions, err := createRushEdition(ctx, client, orgToken, c.Edition, c.Members, c.SessionCapacity, len(rushTracks))
	if err != nil {
		return rushResult{}, err
	}

	// The rush: every member once, from c.Clients clients at a time. The
	// load generator shares the machine with the server, so it keeps its
	// own work small: bodies are encoded once, and its garbage collector
	// runs less often (its heap is small either way).
	bodies := make([]json.RawMessage, len(sessions))
	for i, id := range sessions {
		bodies[i], _ = json.Marshal(map[string]any{"sessions": []string{id}})
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	answers := make([]placement, len(members))
	latencies := make([]time.Duration, len(members))
	failures := make([]error, len(members))
	finished := make([]int, 0, len(members)) // member indexes in the order their answers came
	var finishedMu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return rushResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rushResult{}, err
		}
		runtime.SetMutexProfileFraction(5)
	}
	start := time.Now()
	for range c.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(members) {
					return
				}
				body := bodies[i%len(bodies)]
				key := "rush-" + strconv.Itoa(i)
				t0 := time.Now()
				var err error
				for attempt := range 3 { // a retried key writes nothing twice
					_, err = client.do(ctx, "POST", "/api/conference/editions/"+c.Edition+"/registrations", members[i].token, key, body, &answers[i])
					if err == nil || !isTransient(err) {
						break
					}
					time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
				}
				latencies[i], failures[i] = time.Since(t0), err
				finishedMu.Lock()
				finished = append(finished, i)
				finishedMu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if c.CPUProfile != "" {
		pprof.StopCPUProfile()
		if f, err := os.Create(c.CPUProfile + ".mutex"); err == nil {
			pprof.Lookup("mutex").WriteTo(f, 0)
			f.Close()
		}
	}
	for i, err := range failures {
		if err != nil {
			return rushResult{}, fmt.Errorf("member %d: %w", i, err)
		}
	}
	lag, lagMeasured, err := inboxLag(ctx, client, members, finished, start.Add(elapsed))
	if err != nil {
		return rushResult{}, err
	}
	slices.Sort(latencies)
	res := rushResult{n: len(members), elapsed: elapsed, p50: latencies[len(latencies)/2], p99: latencies[len(latencies)*99/100],
		inboxLag: lag, inboxMeasured: lagMeasured}

	got := map[string]placement{}
	for _, a := range answers {
		got[a.ID] = a
	}
	audit, err := auditLedger(ctx, store, c.Edition, got)
	if err != nil {
		return res, err
	}
	res.oversold, res.lost = audit.oversold, audit.lost
	var counts editionCounts
	if _, err := client.do(ctx, "GET", "/api/conference/editions/"+c.Edition, "", "", nil, &counts); err != nil {
		return res, err
	}
	if err := audit.matches(counts); err != nil {
		return res, err
	}
	wantSeats := min(c.Members, c.SessionCapacity*len(sessions))
	if counts.Confirmed != c.Members || audit.seats() != wantSeats {
		return res, fmt.Errorf("after the rush: %d admitted and %d session seats filled, want %d and %d", counts.Confirmed, audit.seats(), c.Members, wantSeats)
	}
	if audit.outOfOrder != 0 {
		return res, fmt.Errorf("after the rush: %d session seats went to someone behind a waitlisted registrant", audit.outOfOrder)
	}
	if c.Cancellations > 0 {
		line, err := cancelPhase(ctx, store, client, orgToken, c, members)
		if err != nil {
			return res, err
		}
		fmt.Fprintln(stdout, line)
	}
	return res, nil
}

func isTransient(err error) bool {
	return !strings.Contains(err.Error(), ": 4")
}

func createRushEdition(ctx context.Context, client *rushClient, orgToken, edition string, capacity, sessionCapacity, nSessions int) ([]string, error) {
	tracks := []map[string]any{}
	for _, t := range rushTracks[:nSessions] {
		tracks = append(tracks, map[string]any{"id": t.id, "name": map[string]string{"zh": t.zh, "en": t.en}})
	}
	_, err := client.do(ctx, "POST", "/api/conference/editions", orgToken, "", map[string]any{
		"id": edition, "name": map[string]string{"zh": "云栖大会 " + edition, "en": "Yunqi Conference " + edition},
		"starts_on": "2015-10-14", "ends_on": "2015-10-17", "venue": "云栖小镇, 杭州", "capacity": capacity, "tracks": tracks,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("create edition: %w", err)
	}
	var ids []string
	day := time.Date(2015, 10, 15, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i, t := range rushTracks[:nSessions] {
		// One track per half day, so that no two slots clash.
		startsAt := day.Add(time.Duration(i) * 4 * time.Hour)
		_, err := client.do(ctx, "POST", "/api/conference/editions/"+edition+"/sessions", orgToken, "", map[string]any{
			"id": t.id, "track": t.id, "title": t.zh + " · " + t.en, "room": fmt.Sprintf("Hall %d", i+1),
			"starts_at": startsAt, "ends_at": startsAt.Add(3 * time.Hour), "capacity": sessionCapacity,
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("create session %s: %w", t.id, err)
		}
		ids = append(ids, t.id)
	}
	return ids, nil
}

// ledgerAudit is what the edition's events say, recounted here from the
// log without the service's code.
type ledgerAudit struct {
	admitted, waitlisted int
	confirmed, offered   map[string]int
	queue                map[string][]string // session → waitlisted registrations in event order
	capacity             int
	sessionCap           map[string]int
	oversold, lost       int
	outOfOrder           int
	offers               []events.SeatOffered
}

func (a ledgerAudit) seats() int {
	n := 0
	for _, v := range a.confirmed {
		n += v
	}
	return n
}

func (a ledgerAudit) matches(c editionCounts) error {
	if c.Confirmed != a.admitted || c.Capacity != a.capacity {
		return fmt.Errorf("the API says %d admitted of %d, the events %d of %d", c.Confirmed, c.Capacity, a.admitted, a.capacity)
	}
	for _, s := range c.Sessions {
		if s.Confirmed != a.confirmed[s.ID] || s.Waitlisted != len(a.queue[s.ID]) || s.Offered != a.offered[s.ID] {
			return fmt.Errorf("session %s: the API says %d confirmed, %d offered, %d waitlisted; the events %d, %d, %d",
				s.ID, s.Confirmed, s.Offered, s.Waitlisted, a.confirmed[s.ID], a.offered[s.ID], len(a.queue[s.ID]))
		}
	}
	return nil
}

// auditLedger reads the edition's stream and recounts it. Every answer
// that got a 201 must be in it with the same decision (else it is lost),
// and no count may exceed its capacity (else it is oversold).
func auditLedger(ctx context.Context, store events.Store, edition string, answers map[string]placement) (ledgerAudit, error) {
	a := ledgerAudit{confirmed: map[string]int{}, offered: map[string]int{}, queue: map[string][]string{}, sessionCap: map[string]int{}}
	evs, err := store.ReadStream(ctx, events.EditionStream(edition), events.ReadOptions{})
	if err != nil {
		return a, fmt.Errorf("read the ledger: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		p, err := events.Types.Decode(e)
		if err != nil {
			return a, err
		}
		switch v := p.(type) {
		case events.EditionScheduled:
			a.capacity = v.Capacity
		case events.SessionScheduled:
			a.sessionCap[v.SessionID] = v.Capacity
		case events.RegistrationPlaced:
			if seen[v.RegistrationID] {
				a.oversold++ // the same registration counted twice
			}
			seen[v.RegistrationID] = true
			if v.Status == events.StatusConfirmed {
				a.admitted++
			} else {
				a.waitlisted++
			}
			for _, s := range v.Sessions {
				if s.Status == events.StatusConfirmed {
					if len(a.queue[s.SessionID]) > 0 {
						a.outOfOrder++
					}
					a.confirmed[s.SessionID]++
				} else {
					a.queue[s.SessionID] = append(a.queue[s.SessionID], v.RegistrationID)
				}
			}
			if ans, ok := answers[v.RegistrationID]; ok && (ans.Status != v.Status || len(ans.Sessions) != len(v.Sessions) ||
				len(v.Sessions) > 0 && ans.Sessions[0].Status != v.Sessions[0].Status) {
				a.lost++ // the answer given is not what was recorded
			}
		case events.RegistrationCancelled:
			// Only the cancel phase cancels; its audit follows the seats itself.
		case events.SeatOffered:
			a.offers = append(a.offers, v)
		}
	}
	for id := range answers {
		if !seen[id] {
			a.lost++
		}
	}
	if a.admitted > a.capacity {
		a.oversold += a.admitted - a.capacity
	}
	for sid, n := range a.confirmed {
		if n > a.sessionCap[sid] {
			a.oversold += n - a.sessionCap[sid]
		}
	}
	return a, nil
}

// cancelPhase fills one session of a second edition past its capacity,
// cancels seat holders, and checks that exactly as many waitlisted members
// got an offer, first come first served.
func cancelPhase(ctx context.Context, store events.Store, client *rushClient, orgToken string, c rushConfig, members []member) (string, error) {
	n := min(c.Cancellations, len(members)/2)
	edition := c.Edition + "-cancel"
	sessions, err := createRushEdition(ctx, client, orgToken, edition, 2*n, n, 1)
	if err != nil {
		return "", err
	}
	ids := make([]string, 2*n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for range c.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= 2*n {
					return
				}
				var p placement
				_, errs[i] = client.do(ctx, "POST", "/api/conference/editions/"+edition+"/registrations", members[i].token, "", map[string]any{"sessions": sessions}, &p)
				ids[i] = p.ID
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	before, err := auditLedger(ctx, store, edition, nil)
	if err != nil {
		return "", err
	}
	queue := before.queue[sessions[0]]
	holders := map[string]int{}
	for i, id := range ids {
		holders[id] = i
	}
	for _, id := range queue {
		delete(holders, id)
	}
	start := time.Now()
	next.Store(0)
	var cancel []string
	for id := range holders {
		cancel = append(cancel, id)
	}
	for range c.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cancel) {
					return
				}
				errs[i] = func() error {
					_, err := client.do(ctx, "DELETE", "/api/conference/registrations/"+cancel[i], members[holders[cancel[i]]].token, "", nil, nil)
					return err
				}()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	after, err := auditLedger(ctx, store, edition, nil)
	if err != nil {
		return "", err
	}
	if len(after.offers) != len(cancel) {
		return "", fmt.Errorf("cancel phase: %d cancellations made %d offers", len(cancel), len(after.offers))
	}
	for i, o := range after.offers {
		if o.RegistrationID != queue[i] {
			return "", fmt.Errorf("cancel phase: offer %d went to %s, but %s was waiting before", i+1, o.RegistrationID, queue[i])
		}
	}
	return fmt.Sprintf("cancellations: %d seat holders cancelled in %.1f s, %d offers made in waitlist order", len(cancel), elapsed.Seconds(), len(after.offers)), nil
}
