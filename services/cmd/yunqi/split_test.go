package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestServicePrefixesCoverTheirRoutes builds each service alone, as
// --services=NAME does, and checks that every route it mounts is under the
// prefixes the gateway routes to it: a route outside them would be
// unreachable in split mode.
func TestServicePrefixesCoverTheirRoutes(t *testing.T) {
	shell := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "* /metrics": true, "* /static/*": true,
		"GET /api/openapi.json": true, "GET /": true,
	}
	for _, name := range serviceNames {
		t.Run(name, func(t *testing.T) {
			data := t.TempDir()
			c, _, _, err := parseServe([]string{"--data", data, "--services", name}, quietEnv(), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			logger := slog.New(slog.DiscardHandler)
			store, err := openPersonalLog(t.Context(), &c.commonConfig, "", true, logger, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			deps := c.deps(store, logger, nil)
			if name != "identity" {
				if deps.verifier, deps.pageSession, deps.revocations, err = c.remoteAuth(store, logger); err != nil {
					t.Fatal(err)
				}
			}
			a, err := newApp(deps, c.serverOptions(logger, nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.services) != 1 || a.services[0].name != name {
				t.Fatalf("--services=%s built %d services", name, len(a.services))
			}
			n := 0
			for _, key := range registeredRoutes(t, a.server.Router()) {
				if shell[key] {
					continue
				}
				_, pattern, _ := strings.Cut(key, " ")
				if !underAny(pattern, servicePrefixes(name)) {
					t.Errorf("%s mounts %s, outside its prefixes %v", name, key, servicePrefixes(name))
				}
				n++
			}
			if n == 0 {
				t.Errorf("%s mounts no routes of its own", name)
			}
		})
	}
}

func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func TestServicesAndRoutesFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error; empty: valid
	}{
		{[]string{"--services", "identity,search"}, ""},
		{[]string{"--services", "gateway", "--route", "identity=http://a:1", "--route", "conference=http://b:1,http://c:1"}, ""},
		{[]string{"--services", "identity,gateway"}, "runs alone"},
		{[]string{"--services", "confrence"}, `no service "confrence"`},
		{[]string{"--services", "search,search"}, "named twice"},
		{[]string{"--services", "gateway"}, "needs a --route"},
		{[]string{"--services", "identity", "--route", "identity=http://a:1"}, "--route is for --services=gateway"},
		{[]string{"--services", "gateway", "--route", "identity=ftp://a"}, "not an http:// or https:// URL"},
		{[]string{"--services", "gateway", "--route", "identity=http://a:1/x"}, "has a path"},
		{[]string{"--services", "gateway", "--route", "identity=http://a:1", "--route", "identity=http://b:1"}, "routed twice"},
		{[]string{"--services", "gateway", "--route", "gateway=http://a:1"}, `no service "gateway"`},
		{[]string{"--eventstore", "http://db:2113"}, "want esdb://"},
		{[]string{"--search", "meili:7700"}, "http:// or https://"},
	} {
		_, _, _, err := parseServe(tc.args, quietEnv(), io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	// Routes also come from the environment, entries separated by ";".
	c, _, _, err := parseServe([]string{"--services", "gateway"}, quietEnv("YUNQI_ROUTE", "identity=http://a:1; conference=http://b:1,http://c:1"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.routes["identity"]) != 1 || len(c.routes["conference"]) != 2 {
		t.Errorf("routes from YUNQI_ROUTE = %v", c.routes)
	}
}
