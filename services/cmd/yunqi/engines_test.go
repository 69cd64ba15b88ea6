package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/esdbstore/esdbtest"
	"github.com/yunqi-town/yunqi/services/search/meiliindex/meilitest"
)

// TestServeOnEventStoreDBAndMeilisearch runs the binary on the production
// engines, as far as this machine allows: the official clients against the
// stand-ins of both servers. The demo data goes into EventStoreDB, the
// search projection follows it into Meilisearch, and the API answers.
func TestServeOnEventStoreDBAndMeilisearch(t *testing.T) {
	es := esdbtest.Start(t)
	meili := meilitest.New(t, "master-key-for-tests")
	data := t.TempDir()
	base, _ := serve(t, data, append([]string{"--demo",
		"--eventstore", es.URL(), "--search", meili.URL, "--search-key", "master-key-for-tests"}, rateOff...)...)
	waitUntil(t, func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	head, err := es.Store().Head(t.Context())
	if err != nil || head == events.Start {
		t.Fatalf("the demo data is not in EventStoreDB: head %v, %v", head, err)
	}
	resp, err := http.Post(base+"/api/identity/users", "application/json",
		strings.NewReader(`{"email":"esdb@example.com","password":"a long enough passphrase 42","display_name":"Esdb"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-up on EventStoreDB: %d", resp.StatusCode)
	}
	if after, _ := es.Store().Head(t.Context()); after.Compare(head) <= 0 {
		t.Errorf("the sign-up did not reach EventStoreDB: head %v → %v", head, after)
	}

	// The commands that write to the log work on EventStoreDB too.
	// Every process on the log shares the master key (a mounted secret).
	master := filepath.Join(data, "keys", "master.key")
	if _, err := runCmd(t, "users", "grant", "--eventstore", es.URL(), "--data", t.TempDir(), "--email", "esdb@example.com", "--role", "organizer"); err == nil || !strings.Contains(err.Error(), "does not open the key store") {
		t.Errorf("a process with another master key: %v, want a refusal naming the key", err)
	}
	if out, err := runCmd(t, "users", "grant", "--eventstore", es.URL(), "--data", t.TempDir(), "--master-key-file", master, "--email", "esdb@example.com", "--role", "organizer"); err != nil || !strings.Contains(out, "granted role organizer") {
		t.Fatalf("users grant on EventStoreDB: %v\n%s", err, out)
	}
	posts := t.TempDir()
	if err := os.WriteFile(filepath.Join(posts, "wharf.md"), []byte("# Wharfside notes\n\nShipping containers of Go code.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "import", "blog", "--eventstore", es.URL(), "--blog", "notes", posts); err != nil {
		t.Fatalf("import blog on EventStoreDB: %v\n%s", err, out)
	}
	waitUntil(t, func() bool {
		_, body := get(t, base+"/api/search?q=wharfside")
		return strings.Contains(body, `"slug":"wharf"`)
	})

	code, body := get(t, base+"/api/search?type=startup&limit=1")
	var res struct {
		Hits  []map[string]any `json:"hits"`
		Total int              `json:"estimatedTotalHits"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Total < 29 || len(res.Hits) != 1 {
		t.Fatalf("search through Meilisearch: %d %.300s; want the 29 founding members", code, body)
	}
	if _, n := meili.SearchTime(); n == 0 {
		t.Error("the search did not go to Meilisearch")
	}

	// A rebuild builds the next generation as a new Meilisearch index,
	// swaps it in and deletes the old one.
	if out, err := runCmd(t, "search", "rebuild", "--data", data); err != nil {
		t.Fatalf("search rebuild: %v\n%s", err, out)
	}
	indexStatus := func(uid string) int {
		req, _ := http.NewRequest("GET", meili.URL+"/indexes/"+uid, nil)
		req.Header.Set("Authorization", "Bearer master-key-for-tests")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitUntil(t, func() bool { return indexStatus("yunqi_g1") == http.StatusNotFound })
	if got := indexStatus("yunqi_g2"); got != http.StatusOK {
		t.Errorf("after the rebuild, index yunqi_g2 answers %d", got)
	}
	code, body = get(t, base+"/api/search?type=startup&limit=1")
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Total < 29 {
		t.Fatalf("search after the rebuild: %d %.300s", code, body)
	}
}

// TestServeWaitsForUnreachableEngines starts with neither server up: the
// process answers /healthz, says in /readyz which URL it waits for, and
// becomes ready once the servers appear, without a restart.
func TestServeWaitsForUnreachableEngines(t *testing.T) {
	es := esdbtest.Start(t)
	es.Stop()
	meili := meilitest.New(t, "k")
	meiliAddr := freeAddr(t)

	base, _ := serve(t, t.TempDir(), "--eventstore", es.URL(), "--search", "http://"+meiliAddr, "--search-key", "k")
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz while waiting = %d, want 200: the process is up", code)
	}
	esURL, _ := url.Parse(es.URL())
	var code int
	var body string
	waitUntil(t, func() bool {
		code, body = get(t, base+"/readyz")
		return strings.Contains(body, esURL.Host) || code == 200
	})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, esURL.Host) || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz while EventStoreDB is down = %d %s; want 503 naming its address", code, body)
	}

	if err := es.Restart(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		_, body := get(t, base+"/readyz")
		return strings.Contains(body, meiliAddr)
	})
	// Meilisearch appears on the address serve was given.
	ln, err := net.Listen("tcp", meiliAddr)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(meili.URL)
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go proxy.Serve(ln)
	t.Cleanup(func() { proxy.Close() })

	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body = get(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready a minute after both servers came up: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get(t, base+"/api/search?q=go"); code != 200 {
		t.Errorf("search once ready: %d %s", code, body)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
