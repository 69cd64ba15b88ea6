package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// TestSplitModeEndToEnd runs one service per process, as a deployment
// would on one machine: identity, two conference instances, alliance,
// contest and search share one data dir, and a gateway routes to them.
// Everything a user does goes through the gateway: sign-up and log-in,
// a conference registration (verified with identity's published keys),
// an alliance application approved by two reviewers and then found in
// search. One conference instance is killed while the other keeps
// serving; with both gone, and for a service never routed, the gateway
// answers 502 problem+json naming the service.
func TestSplitModeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs seven processes")
	}
	began := time.Now()
	tmp := t.TempDir()
	bin := buildSplitBinary(t, tmp)
	data := filepath.Join(tmp, "data")
	t.Logf("built the binary in %s", time.Since(began).Round(time.Millisecond))

	common := append([]string{"--data", data, "--addr", "127.0.0.1:0"}, rateOff...)
	with := func(extra ...string) []string { return append(append([]string{}, common...), extra...) }

	identitySvc := startSplitProcess(t, bin, "identity", with("--services=identity")...)
	waitSplitReady(t, identitySvc)
	idURL := "--identity-url=" + identitySvc.url
	procs := map[string]*splitProcess{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range []struct{ name, svc string }{
		{"conference-1", "conference"}, {"conference-2", "conference"},
		{"alliance", "alliance"}, {"contest", "contest"}, {"search", "search"},
	} {
		// Started side by side: opening the shared log from several
		// processes at once is part of what is tested.
		wg.Go(func() {
			sp := startSplitProcess(t, bin, p.name, with("--services="+p.svc, idURL)...)
			mu.Lock()
			procs[p.name] = sp
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range procs {
		waitSplitReady(t, p)
	}
	conf1, conf2 := procs["conference-1"], procs["conference-2"]
	gw := startSplitProcess(t, bin, "gateway", with("--services=gateway",
		"--route", "identity="+identitySvc.url,
		"--route", "conference="+conf1.url+","+conf2.url,
		"--route", "alliance="+procs["alliance"].url,
		"--route", "contest="+procs["contest"].url,
		"--route", "search="+procs["search"].url,
	)...)
	waitSplitReady(t, gw)
	t.Logf("seven processes ready after %s", time.Since(began).Round(time.Millisecond))

	c := &splitClient{t: t, base: gw.url, http: &http.Client{Timeout: 15 * time.Second}}

	// 1. Accounts, through the gateway; roles granted with the CLI against
	// the shared log while everything runs, and in the tokens of the next
	// log-in.
	const password = "correct horse battery staple"
	signUp := func(email, name string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": name})
		c.expect("POST", "/api/identity/users", "", string(b), http.StatusCreated)
	}
	logIn := func(email string) string {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": password})
		_, body := c.expect("POST", "/api/identity/tokens", "", string(b), http.StatusOK)
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || out.AccessToken == "" {
			t.Fatalf("log-in %s: no access token in %s", email, body)
		}
		return out.AccessToken
	}
	grant := func(email, role string) {
		t.Helper()
		cmd := exec.Command(bin, "users", "grant", "--data", data, "--email", email, "--role", role)
		cmd.Env = splitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("yunqi users grant %s %s: %v\n%s", email, role, err, out)
		}
	}
	accounts := []struct{ email, name, role string }{
		{"org@example.com", "Organiser", auth.RoleOrganizer},
		{"wang@example.com", "王坚", auth.RoleReviewer},
		{"li@example.com", "李四", auth.RoleReviewer},
		{"ada@example.com", "杜勇", ""},
		{"bob@example.com", "Bob", ""},
		{"carol@example.com", "Carol", ""},
	}
	tokens := map[string]string{}
	for _, a := range accounts {
		signUp(a.email, a.name)
		if a.role != "" {
			grant(a.email, a.role)
		}
		tokens[a.email] = logIn(a.email)
	}
	org, rev1, rev2 := tokens["org@example.com"], tokens["wang@example.com"], tokens["li@example.com"]
	ada, bob, carol := tokens["ada@example.com"], tokens["bob@example.com"], tokens["carol@example.com"]
	for email, role := range map[string]string{"org@example.com": auth.RoleOrganizer, "li@example.com": auth.RoleReviewer} {
		if roles := fmt.Sprint(claims(t, tokens[email])["roles"]); !strings.Contains(roles, role) {
			t.Fatalf("%s logged in after the grant without %s in the token: roles %s", email, role, roles)
		}
	}

	// 2. Conference: an edition with a session, and a registration, on
	// whichever conference instance the gateway picks.
	const edition = "/api/conference/editions/split-2033"
	c.expect("POST", "/api/conference/editions", org, `{"id":"split-2033","name":{"zh":"开发者大会","en":"Developer conference"},
		"starts_on":"2033-10-24","ends_on":"2033-10-25","venue":"云栖小镇","capacity":500}`, http.StatusCreated)
	c.expect("POST", edition+"/sessions", org,
		`{"id":"storage","title":"大规模存储","starts_at":"2033-10-24T09:00:00+08:00","ends_at":"2033-10-24T12:00:00+08:00","capacity":100}`, http.StatusCreated)
	_, body := c.expect("POST", edition+"/registrations", ada, `{"sessions":["storage"]}`, http.StatusCreated)
	if !strings.Contains(body, `"confirmed"`) {
		t.Fatalf("ada's registration is not confirmed: %s", body)
	}
	// Both instances answer reads of what either wrote.
	for range 2 {
		if _, body := c.expect("GET", edition, "", "", http.StatusOK); !strings.Contains(body, `"confirmed":1`) {
			t.Fatalf("edition after one registration: %s", body)
		}
	}

	// 3. Alliance: apply, two approvals, then the startup is in search.
	const apps = "/api/alliance/applications"
	_, body = c.expect("POST", apps, ada, `{"name_zh":"分布测试","name_en":"Splitmode Cloudworks","website":"https://splitmode.example.com",
		"city":"杭州","industry":"开发者工具","founded_year":2014,"team_size":12,"description":"一家做开发者工具的公司",
		"submit":true,"contact":{"name":"杜勇","email":"dy@example.com"}}`, http.StatusCreated)
	var app struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &app); err != nil || app.ID == "" || app.Status != "submitted" {
		t.Fatalf("application: %s", body)
	}
	c.expect("POST", apps+"/"+app.ID+"/votes", rev1, `{"vote":"approve","comment":"好"}`, http.StatusOK)
	_, body = c.expect("POST", apps+"/"+app.ID+"/votes", rev2, `{"vote":"approve"}`, http.StatusOK)
	if !strings.Contains(body, `"approved"`) {
		t.Fatalf("after two approvals: %s", body)
	}
	searchPath := "/api/search?" + url.Values{"q": {"Splitmode Cloudworks"}, "type": {"startup"}}.Encode()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body = c.expect("GET", searchPath, "", "", http.StatusOK)
		var res struct {
			Hits []map[string]any `json:"hits"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatalf("search answer: %v: %s", err, body)
		}
		if len(res.Hits) > 0 && strings.Contains(body, "Splitmode Cloudworks") {
			if typ := res.Hits[0]["type"]; typ != "startup" {
				t.Fatalf("search hit of type %v: %s", typ, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved startup is not found in search 15 s later: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Contest answers too, and knows the member by identity's keys (an
	// unknown contest, not an unknown caller).
	c.expect("GET", "/api/contest/contests", "", "", http.StatusOK)
	c.expect("GET", "/api/contest/contests/none/me", ada, "", http.StatusNotFound)

	// 4. One conference instance dies: every request still succeeds, on
	// the other, and the gateway stays ready.
	killed := time.Now()
	conf1.kill(t)
	// Two registrations first: round-robin sends one of them to the dead
	// instance (unless a health check has marked it down meanwhile), and
	// the refused connection is retried on the other, POST or not.
	for _, member := range []string{bob, carol} {
		_, body := c.expect("POST", edition+"/registrations", member, `{"sessions":["storage"]}`, http.StatusCreated)
		if !strings.Contains(body, `"confirmed"`) {
			t.Fatalf("registration after the kill is not confirmed: %s", body)
		}
	}
	for i := range 4 {
		if _, body := c.expect("GET", edition, ada, "", http.StatusOK); !strings.Contains(body, `"confirmed":3`) {
			t.Fatalf("edition, request %d after the kill: %s", i+1, body)
		}
	}
	// Past a health-check round (2 s) the dead instance is marked down;
	// conference still has a healthy one.
	for time.Since(killed) < 2500*time.Millisecond {
		c.expect("GET", "/readyz", "", "", http.StatusOK)
		time.Sleep(200 * time.Millisecond)
	}
	c.expect("GET", edition, "", "", http.StatusOK)
	gwLog := gw.logs.String()
	if !strings.Contains(gwLog, `msg="instance down" service=conference instance=`+conf1.url) {
		t.Fatalf("the gateway did not mark the killed instance down:\n%s", gwLog)
	}
	if strings.Contains(gwLog, "could not connect to the instance; trying the next") {
		t.Log("a registration after the kill was refused by the dead instance and sent to the other")
	}

	// 5. Both gone: 502 problem+json naming the service, and the same for
	// a service that has no route.
	conf2.kill(t)
	unavailable := func(method, path, token, body, service string) {
		t.Helper()
		res, got := c.do(method, path, token, body)
		if res.StatusCode != http.StatusBadGateway || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s = %d %s, want 502 application/problem+json: %s", method, path, res.StatusCode, res.Header.Get("Content-Type"), got)
		}
		var p struct {
			Status  int
			Service string
			Detail  string
		}
		if err := json.Unmarshal([]byte(got), &p); err != nil || p.Status != 502 || p.Service != service || !strings.Contains(p.Detail, service) {
			t.Fatalf("%s %s: the problem does not name %s: %s", method, path, service, got)
		}
	}
	unavailable("GET", edition, "", "", "conference")
	unavailable("POST", edition+"/registrations", ada, `{"sessions":["storage"]}`, "conference")
	unavailable("GET", "/api/blog/blogs", "", "", "blog")
	// The failed requests marked both instances down: not ready, and /readyz
	// says for which service.
	deadline = time.Now().Add(3 * time.Second)
	for {
		res, got := c.do("GET", "/readyz", "", "")
		if res.StatusCode == http.StatusServiceUnavailable && strings.Contains(got, "conference") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway /readyz with no conference instance = %d %s", res.StatusCode, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The rest still works.
	c.expect("GET", searchPath, "", "", http.StatusOK)
	t.Logf("done in %s", time.Since(began).Round(time.Millisecond))
}

// buildSplitBinary builds yunqi into dir. The go command reads GOFLAGS
// from the environment, so GOFLAGS=-race also builds the children with the
// race detector.
func buildSplitBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "yunqi")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// splitEnv is the test's environment without Yunqi's own settings, which
// would otherwise reach the children, and with warnings only in the logs.
func splitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "YUNQI_") {
			env = append(env, kv)
		}
	}
	return append(env, "YUNQI_LOG_LEVEL=warn")
}

// splitProcess is one `yunqi serve` child.
type splitProcess struct {
	name string
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	logs *splitOutput
}

// startSplitProcess starts bin with args and returns once it says where
// it listens. The child is killed when the test ends; its log is shown if
// the test failed.
func startSplitProcess(t *testing.T, bin, name string, args ...string) *splitProcess {
	t.Helper()
	out := &splitOutput{listening: make(chan string, 1)}
	logs := &splitOutput{}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = splitEnv()
	cmd.Stdout, cmd.Stderr = out, logs
	if err := cmd.Start(); err != nil {
		t.Errorf("start %s: %v", name, err)
		return nil
	}
	p := &splitProcess{name: name, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		// Children built with GOFLAGS=-race report races on stderr.
		if strings.Contains(logs.String(), "WARNING: DATA RACE") {
			t.Errorf("%s had a data race", name)
		}
		if t.Failed() {
			t.Logf("%s (%s) logged:\n%s%s", name, p.url, out.String(), logs.String())
		}
	})
	select {
	case p.url = <-out.listening:
		return p
	case <-p.done:
		t.Errorf("%s exited before listening (%s): %s%s", name, cmd.ProcessState, out.String(), logs.String())
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not say where it listens within 30 s: %s%s", name, out.String(), logs.String())
	}
	return nil
}

// kill ends the process abruptly and waits until it is gone.
func (p *splitProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// waitSplitReady waits until the process's /readyz answers 200.
func waitSplitReady(t *testing.T, p *splitProcess) {
	t.Helper()
	if p == nil {
		t.FailNow()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := 0, ""
		res, err := client.Get(p.url + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			code, body = res.StatusCode, string(b)
		} else {
			body = err.Error()
		}
		if code == http.StatusOK {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while waiting to be ready: %s", p.name, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 20 s: %d %s", p.name, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// splitOutput collects a child's output; on stdout it also reports the
// "listening on" line.
type splitOutput struct {
	mu        sync.Mutex
	all       bytes.Buffer
	line      []byte
	listening chan string // nil: not watched
}

func (o *splitOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all.Write(p)
	if o.listening == nil {
		return len(p), nil
	}
	o.line = append(o.line, p...)
	for {
		i := bytes.IndexByte(o.line, '\n')
		if i < 0 {
			break
		}
		if u, ok := strings.CutPrefix(string(o.line[:i]), "listening on "); ok {
			select {
			case o.listening <- strings.TrimSpace(u):
			default:
			}
		}
		o.line = o.line[i+1:]
	}
	return len(p), nil
}

func (o *splitOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.all.String()
}

// splitClient calls the gateway.
type splitClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *splitClient) do(method, path, token, body string) (*http.Response, string) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return res, string(b)
}

// expect makes the call and fails the test, with the answer, unless its
// status is want.
func (c *splitClient) expect(method, path, token, body string, want int) (*http.Response, string) {
	c.t.Helper()
	res, got := c.do(method, path, token, body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, got)
	}
	return res, got
}
