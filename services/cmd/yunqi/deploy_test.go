package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment files in infra/deploy cannot be run on the build machines
// (no Docker daemon, no cluster, no registry serving KurrentDB or
// Meilisearch). These tests keep them honest without Docker or kubectl:
// they parse the compose file and the Kubernetes manifests, hand every yunqi
// container's command line and environment to parseServe as serve itself
// would, and check that every service runs, the gateway routes to all of
// them at addresses that exist, the probes hit /readyz and /healthz on the
// port serve listens on, every process that opens the log reads the one
// master key from one secret, only settings serve reads are named, and
// nothing is mounted at a file serve no longer reads.

const deployDir = "../../../infra/deploy"

// deployNames are the --services values of a split deployment: every
// service in its own containers, and the gateway.
func deployNames() []string { return append(slices.Clone(serviceNames), "gateway") }

// deployState are the services that keep files of their own in the data
// directory (YUNQI_DATA=/data), and where. Those files must outlive the
// container and be the same for every replica of the service.
var deployState = map[string]string{
	"identity":   "/data",            // token signing keys, keys/
	"conference": "/data/conference", // the ticket signing key
	"alliance":   "/data",            // logos, alliance/logos
	"contest":    "/data",            // attachments, contest/attachments
}

// deployStale are files serve no longer reads, and why. A mount there is
// what is left of an older setup: a secret or volume to make, copy and
// rotate for nothing.
var deployStale = map[string]string{
	"/data/keys/notify-unsubscribe.key": "the notifier derives the key of unsubscribe links from the master key",
}

// deployCheckStale fails when a container mounts something at a stale file.
func deployCheckStale(t *testing.T, where, mount string) {
	t.Helper()
	if mount == "" {
		return
	}
	if why, ok := deployStale[path.Clean(mount)]; ok {
		t.Errorf("%s: mounts %s, which serve no longer reads: %s", where, mount, why)
	}
}

// deployCovers reports whether a mount at mount holds path.
func deployCovers(mount, path string) bool {
	mount = strings.TrimSuffix(mount, "/")
	return path == mount || strings.HasPrefix(path, mount+"/")
}

// deployKnownEnv is the set of environment variables serve reads.
func deployKnownEnv(t *testing.T) map[string]bool {
	t.Helper()
	_, set, _, err := parseServe([]string{}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseServe with defaults: %v", err)
	}
	known := map[string]bool{}
	for _, s := range set.Settings() {
		known[s.Env] = true
	}
	return known
}

// deployCheckEnv fails for every YUNQI_ name that serve does not read: a
// typo, or a setting that was renamed.
func deployCheckEnv(t *testing.T, known map[string]bool, where string, names []string) {
	t.Helper()
	for _, n := range names {
		if strings.HasPrefix(n, envPrefix+"_") && !known[n] {
			t.Errorf("%s: %s is not a setting of yunqi serve", where, n)
		}
	}
}

// deployServe parses a container's command line and environment the way
// the image runs them (ENTRYPOINT ["yunqi"]), and says which services it
// runs.
func deployServe(args []string, env map[string]string) (c *serveConfig, runs []string, err error) {
	if len(args) > 0 && args[0] == "yunqi" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] != "serve" {
		return nil, nil, fmt.Errorf("runs %q, not yunqi serve", args)
	}
	c, _, _, err = parseServe(args[1:], func(k string) string { return env[k] }, io.Discard)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("serve would not start: %w", err)
	case c.gateway:
		return c, []string{"gateway"}, nil
	case len(c.only) == 0:
		return nil, nil, errors.New("runs every service in one process: want --services or YUNQI_SERVICES")
	}
	return c, c.only, nil
}

// Navigating decoded YAML.

func ymap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func ylist(v any) []any         { l, _ := v.([]any); return l }

func ystr(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// ypath follows keys through nested mappings.
func ypath(v any, keys ...string) any {
	for _, k := range keys {
		v = ymap(v)[k]
	}
	return v
}

// yargs reads a command or args field, which compose also allows as one
// string.
func yargs(v any) []string {
	if s, ok := v.(string); ok {
		return strings.Fields(s)
	}
	var out []string
	for _, a := range ylist(v) {
		out = append(out, ystr(a))
	}
	return out
}

func deployListenPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr) // parseServe checked it
	n, _ := strconv.Atoi(p)
	return n
}

func deployURLPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// deployTarget checks that u names a server of the deployment that runs
// want ("" for any server, such as KurrentDB), listening on u's port.
type deployTarget func(where string, u *url.URL, want string)

// deployCheckConfig checks what one yunqi container is configured to reach.
func deployCheckConfig(t *testing.T, where string, c *serveConfig, runs []string, target deployTarget) {
	t.Helper()
	if host, _, _ := net.SplitHostPort(c.Addr); host != "0.0.0.0" && host != "" {
		t.Errorf("%s: serve listens on %s, which other containers and probes cannot reach", where, c.Addr)
	}
	if c.gateway {
		// The gateway opens no log, so a master key there would only be one
		// more copy to leak.
		if c.MasterKeyFile != "" {
			t.Errorf("%s: the gateway opens no event log and needs no %s_MASTER_KEY_FILE", where, envPrefix)
		}
		for _, want := range serviceNames {
			if len(c.routes[want]) == 0 {
				t.Errorf("%s: the gateway has no route to %s", where, want)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(c.routes)) {
			for _, u := range c.routes[name] {
				target(where+" route "+name, u, name)
			}
		}
		return
	}
	if c.MasterKeyFile == "" {
		t.Errorf("%s: no %s_MASTER_KEY_FILE: it would make a master key of its own in its data dir, and the key store that another process set up refuses it", where, envPrefix)
	}
	if c.Engines.EventStore == "" {
		t.Errorf("%s: no %s_EVENTSTORE: each process would keep its own SQLite log", where, envPrefix)
	} else if u, err := url.Parse(c.Engines.EventStore); err == nil {
		target(where+" "+envPrefix+"_EVENTSTORE", u, "")
	}
	if !slices.Contains(runs, "identity") {
		if c.IdentityURL == "" {
			t.Errorf("%s: no %s_IDENTITY_URL: it cannot verify tokens without identity's keys", where, envPrefix)
		} else if u, err := url.Parse(c.IdentityURL); err == nil {
			target(where+" "+envPrefix+"_IDENTITY_URL", u, "identity")
		}
	}
	if slices.Contains(runs, "notify") && c.PublicURL == "" {
		// Mail is sent outside any request: without it, links in mails
		// name the notifier's own address inside the deployment.
		t.Errorf("%s: the notifier without %s_PUBLIC_URL: links in mails would point at the container", where, envPrefix)
	}
	if slices.Contains(runs, "search") {
		if c.Engines.SearchURL == "" {
			t.Errorf("%s: no %s_SEARCH: search would keep an index on its own disk", where, envPrefix)
		} else if u, err := url.Parse(c.Engines.SearchURL); err == nil {
			target(where+" "+envPrefix+"_SEARCH", u, "")
		}
		if c.Engines.SearchKey == "" {
			t.Errorf("%s: %s_SEARCH without %s_SEARCH_KEY", where, envPrefix, envPrefix)
		}
	}
}

// deployCheckAll checks that every service and the gateway run somewhere.
func deployCheckAll(t *testing.T, where string, runs map[string][]string) {
	t.Helper()
	for _, want := range deployNames() {
		found := false
		for _, r := range runs {
			found = found || slices.Contains(r, want)
		}
		if !found {
			t.Errorf("%s: nothing runs serve --services=%s", where, want)
		}
	}
}

// ---- compose ----

type deployComposeService struct {
	yunqi   bool // built from infra/deploy/Dockerfile
	args    []string
	env     map[string]string
	deps    []string
	volumes map[string]string // mount path → source
	secrets map[string]string // file in the container → top-level secret
}

func deployLoadCompose(t *testing.T) map[string]*deployComposeService {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	// yaml.v3 resolves the anchors, aliases and << merges compose uses.
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	services := ymap(doc["services"])
	if len(services) == 0 {
		t.Fatal("compose.yaml: no services")
	}
	out := map[string]*deployComposeService{}
	for name, v := range services {
		s := &deployComposeService{env: map[string]string{}, args: yargs(ypath(v, "command"))}
		s.yunqi = strings.HasSuffix(ystr(ypath(v, "build", "dockerfile")), "infra/deploy/Dockerfile")
		switch env := ypath(v, "environment").(type) {
		case map[string]any:
			for k, v := range env {
				s.env[k] = ystr(v)
			}
		case []any:
			for _, kv := range env {
				k, v, _ := strings.Cut(ystr(kv), "=")
				s.env[k] = v
			}
		}
		s.volumes = map[string]string{}
		for _, vol := range ylist(ypath(v, "volumes")) {
			if m := ymap(vol); m != nil {
				s.volumes[ystr(m["target"])] = ystr(m["source"])
			} else if src, dst, ok := strings.Cut(ystr(vol), ":"); ok {
				dst, _, _ = strings.Cut(dst, ":")
				s.volumes[dst] = src
			}
		}
		s.secrets = map[string]string{}
		for _, sec := range ylist(ypath(v, "secrets")) {
			// Short syntax names the secret; long syntax may put it
			// elsewhere: a relative target is under /run/secrets too.
			source, target := ystr(sec), ""
			if m := ymap(sec); m != nil {
				source, target = ystr(m["source"]), ystr(m["target"])
			}
			if target == "" {
				target = source
			}
			if !strings.HasPrefix(target, "/") {
				target = "/run/secrets/" + target
			}
			s.secrets[target] = source
		}
		switch deps := ypath(v, "depends_on").(type) {
		case map[string]any:
			s.deps = slices.Collect(maps.Keys(deps))
		case []any:
			for _, d := range deps {
				s.deps = append(s.deps, ystr(d))
			}
		}
		out[name] = s
	}
	return out
}

// deployInterpolate stands in for compose's ${VAR:-default} and
// ${VAR:?error}: the default, or a value the operator would have set.
var deployVar = regexp.MustCompile(`\$\{[A-Za-z0-9_]+(:?[-?][^}]*)?\}`)

func deployInterpolate(v string) string {
	return deployVar.ReplaceAllStringFunc(v, func(m string) string {
		if _, def, ok := strings.Cut(m, ":-"); ok {
			return strings.TrimSuffix(def, "}")
		}
		return "set-by-the-operator-0123456789"
	})
}

func TestDeployCompose(t *testing.T) {
	known := deployKnownEnv(t)
	services := deployLoadCompose(t)
	data, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Volumes map[string]any `yaml:"volumes"`
		Secrets map[string]any `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}

	configs := map[string]*serveConfig{}
	runs := map[string][]string{}
	for _, n := range slices.Sorted(maps.Keys(services)) {
		s := services[n]
		where := "compose.yaml service " + n
		deployCheckEnv(t, known, where, slices.Sorted(maps.Keys(s.env)))
		for _, d := range s.deps {
			if services[d] == nil {
				t.Errorf("%s: depends on %q, which is not a service", where, d)
			}
		}
		for _, m := range slices.Sorted(maps.Keys(s.volumes)) {
			deployCheckStale(t, where+" volume "+s.volumes[m], m)
		}
		for _, m := range slices.Sorted(maps.Keys(s.secrets)) {
			deployCheckStale(t, where+" secret "+s.secrets[m], m)
		}
		if !s.yunqi {
			continue // KurrentDB, Meilisearch
		}
		env := map[string]string{}
		for k, v := range s.env {
			env[k] = deployInterpolate(v)
		}
		c, r, err := deployServe(s.args, env)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		configs[n], runs[n] = c, r
	}
	deployCheckAll(t, "compose.yaml", runs)

	target := func(where string, u *url.URL, want string) {
		host := u.Hostname()
		if services[host] == nil {
			t.Errorf("%s: %s: no compose service %q", where, u, host)
			return
		}
		if want == "" {
			return
		}
		if !slices.Contains(runs[host], want) {
			t.Errorf("%s: %s: compose service %s runs %v, not %s", where, u, host, runs[host], want)
			return
		}
		if p := deployListenPort(configs[host].Addr); p != deployURLPort(u) {
			t.Errorf("%s: %s: %s listens on %s", where, u, host, configs[host].Addr)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(configs)) {
		deployCheckConfig(t, "compose.yaml service "+n, configs[n], runs[n], target)
	}

	// Every process that opens the log reads one master key, from one
	// compose secret.
	shared := ""
	for _, n := range slices.Sorted(maps.Keys(configs)) {
		c := configs[n]
		if c.gateway || c.MasterKeyFile == "" {
			continue // deployCheckConfig said so
		}
		where := "compose.yaml service " + n
		src, ok := services[n].secrets[c.MasterKeyFile]
		switch {
		case !ok:
			t.Errorf("%s: %s_MASTER_KEY_FILE is %s, which no secret of the service mounts", where, envPrefix, c.MasterKeyFile)
			continue
		case top.Secrets[src] == nil:
			t.Errorf("%s: secret %q is not defined in the top-level secrets", where, src)
		case ystr(ypath(top.Secrets[src], "file")) == "" && ystr(ypath(top.Secrets[src], "environment")) == "":
			t.Errorf("%s: secret %q names neither a file nor an environment variable", where, src)
		}
		if shared != "" && src != shared {
			t.Errorf("%s: the master key is secret %s, another service has %s", where, src, shared)
		}
		shared = src
	}

	// A service's files are on a named volume, one for all its containers.
	for _, svc := range slices.Sorted(maps.Keys(deployState)) {
		path, shared := deployState[svc], ""
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			if !slices.Contains(runs[n], svc) {
				continue
			}
			src, at := "", ""
			for mount, from := range services[n].volumes {
				if deployCovers(mount, path) && len(mount) > len(at) {
					src, at = from, mount
				}
			}
			if _, named := top.Volumes[src]; !named {
				t.Errorf("compose.yaml service %s: %s keeps files in %s, want a named volume there (have %q)", n, svc, path, src)
				continue
			}
			if shared != "" && src != shared {
				t.Errorf("compose.yaml service %s: %s's %s is volume %s, another instance has %s", n, svc, path, src, shared)
			}
			shared = src
		}
	}
}

// ---- Kubernetes ----

type deployObject struct {
	file string
	doc  map[string]any
}

func (o deployObject) kind() string   { return ystr(o.doc["kind"]) }
func (o deployObject) name() string   { return ystr(ypath(o.doc, "metadata", "name")) }
func (o deployObject) String() string { return fmt.Sprintf("%s: %s %s", o.file, o.kind(), o.name()) }

// containers are the containers of a Deployment's or StatefulSet's pods.
func (o deployObject) containers() []map[string]any {
	var out []map[string]any
	for _, c := range ylist(ypath(o.doc, "spec", "template", "spec", "containers")) {
		out = append(out, ymap(c))
	}
	return out
}

func deployLoadK8s(t *testing.T) (objs []deployObject, kustomization map[string]any) {
	t.Helper()
	dir := filepath.Join(deployDir, "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		if base == "kustomization.yaml" {
			if err := yaml.Unmarshal(data, &kustomization); err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s, document %d: %v", base, i, err)
			}
			if doc == nil {
				continue // an empty document between two ---
			}
			o := deployObject{file: base, doc: doc}
			if ystr(doc["apiVersion"]) == "" || o.kind() == "" || o.name() == "" {
				t.Errorf("%s, document %d: want apiVersion, kind and metadata.name", base, i)
			}
			objs = append(objs, o)
		}
	}
	return objs, kustomization
}

// deploySelected names the Deployments and StatefulSets whose pods sel
// matches.
func deploySelected(objs []deployObject, sel map[string]any) []string {
	var out []string
	for _, o := range objs {
		if o.kind() != "Deployment" && o.kind() != "StatefulSet" {
			continue
		}
		labels := ymap(ypath(o.doc, "spec", "template", "metadata", "labels"))
		match := len(sel) > 0
		for k, v := range sel {
			match = match && ystr(labels[k]) == ystr(v)
		}
		if match {
			out = append(out, o.name())
		}
	}
	return out
}

func TestDeployKubernetes(t *testing.T) {
	known := deployKnownEnv(t)
	objs, kustomization := deployLoadK8s(t)

	byKind := map[string]map[string]deployObject{}
	for _, o := range objs {
		if byKind[o.kind()] == nil {
			byKind[o.kind()] = map[string]deployObject{}
		}
		if _, dup := byKind[o.kind()][o.name()]; dup {
			t.Errorf("%s: defined twice", o)
		}
		byKind[o.kind()][o.name()] = o
	}
	exists := func(o deployObject, kind, name string) bool {
		_, ok := byKind[kind][name]
		if !ok {
			t.Errorf("%s: refers to %s %q, which is not defined", o, kind, name)
		}
		return ok
	}

	t.Run("kustomization", func(t *testing.T) {
		if kustomization == nil {
			t.Fatal("no kustomization.yaml")
		}
		var listed []string
		for _, r := range ylist(kustomization["resources"]) {
			listed = append(listed, ystr(r))
			if _, err := os.Stat(filepath.Join(deployDir, "k8s", ystr(r))); err != nil {
				t.Errorf("kustomization.yaml lists %s: %v", ystr(r), err)
			}
		}
		for _, o := range objs {
			if !slices.Contains(listed, o.file) {
				t.Errorf("kustomization.yaml does not list %s", o.file)
				listed = append(listed, o.file)
			}
		}
	})

	t.Run("no stale files", func(t *testing.T) {
		for _, o := range objs {
			spec := ypath(o.doc, "spec", "template", "spec")
			for _, c := range append(ylist(ypath(spec, "initContainers")), ylist(ypath(spec, "containers"))...) {
				for _, m := range ylist(ypath(c, "volumeMounts")) {
					deployCheckStale(t, fmt.Sprintf("%s, container %s, volume %s", o, ystr(ypath(c, "name")), ystr(ypath(m, "name"))), ystr(ypath(m, "mountPath")))
				}
			}
		}
	})

	t.Run("settings and references", func(t *testing.T) {
		for _, o := range objs {
			var names []string
			switch o.kind() {
			case "ConfigMap":
				names = slices.Collect(maps.Keys(ymap(o.doc["data"])))
			case "Secret":
				names = append(slices.Collect(maps.Keys(ymap(o.doc["stringData"]))), slices.Collect(maps.Keys(ymap(o.doc["data"])))...)
			case "Service":
				if len(deploySelected(objs, ymap(ypath(o.doc, "spec", "selector")))) == 0 {
					t.Errorf("%s: its selector matches no Deployment or StatefulSet", o)
				}
			}
			for _, c := range o.containers() {
				for _, e := range ylist(c["env"]) {
					names = append(names, ystr(ypath(e, "name")))
					if ref := ypath(e, "valueFrom", "secretKeyRef"); ref != nil {
						name, key := ystr(ypath(ref, "name")), ystr(ypath(ref, "key"))
						if exists(o, "Secret", name) {
							s := byKind["Secret"][name].doc
							if ypath(s, "stringData", key) == nil && ypath(s, "data", key) == nil {
								t.Errorf("%s: secret %s has no key %s", o, name, key)
							}
						}
					}
				}
				for _, ef := range ylist(c["envFrom"]) {
					cm, sec := ystr(ypath(ef, "configMapRef", "name")), ystr(ypath(ef, "secretRef", "name"))
					if cm != "" {
						exists(o, "ConfigMap", cm)
					}
					if sec != "" {
						exists(o, "Secret", sec)
					}
					if cm == "" && sec == "" {
						t.Errorf("%s: envFrom entry %v names neither a configMapRef nor a secretRef", o, ef)
					}
				}
			}
			for _, v := range ylist(ypath(o.doc, "spec", "template", "spec", "volumes")) {
				if n := ystr(ypath(v, "secret", "secretName")); n != "" {
					exists(o, "Secret", n)
				}
				if n := ystr(ypath(v, "configMap", "name")); n != "" {
					exists(o, "ConfigMap", n)
				}
				if n := ystr(ypath(v, "persistentVolumeClaim", "claimName")); n != "" {
					exists(o, "PersistentVolumeClaim", n)
				}
			}
			slices.Sort(names)
			deployCheckEnv(t, known, o.String(), names)
		}
	})

	// Every Deployment is a yunqi process: parse it as serve would, with
	// the environment its ConfigMaps, Secrets and env give it.
	type workload struct {
		obj       deployObject
		container map[string]any
		config    *serveConfig
	}
	var workloads []workload
	runs := map[string][]string{}
	for _, o := range objs {
		if o.kind() != "Deployment" {
			continue
		}
		for _, c := range o.containers() {
			env := map[string]string{}
			for _, ef := range ylist(c["envFrom"]) {
				for k, v := range ymap(byKind["ConfigMap"][ystr(ypath(ef, "configMapRef", "name"))].doc["data"]) {
					env[k] = ystr(v)
				}
				for k, v := range ymap(byKind["Secret"][ystr(ypath(ef, "secretRef", "name"))].doc["stringData"]) {
					env[k] = ystr(v)
				}
			}
			for _, e := range ylist(c["env"]) {
				v := ystr(ypath(e, "value"))
				if ref := ypath(e, "valueFrom", "secretKeyRef"); ref != nil {
					v = ystr(ypath(byKind["Secret"][ystr(ypath(ref, "name"))].doc, "stringData", ystr(ypath(ref, "key"))))
				}
				env[ystr(ypath(e, "name"))] = v
			}
			cfg, r, err := deployServe(append(yargs(c["command"]), yargs(c["args"])...), env)
			if err != nil {
				t.Errorf("%s, container %s: %v", o, ystr(c["name"]), err)
				continue
			}
			workloads = append(workloads, workload{obj: o, container: c, config: cfg})
			runs[o.name()] = append(runs[o.name()], r...)
		}
	}

	t.Run("every service runs", func(t *testing.T) {
		deployCheckAll(t, "k8s", runs)
		for _, w := range workloads {
			replicas := ypath(w.obj.doc, "spec", "replicas")
			// identity keeps its signing keys on its own volume: a second
			// replica would sign with keys the first one's JWKS lacks.
			if slices.Contains(runs[w.obj.name()], "identity") && replicas != nil && replicas != 1 {
				t.Errorf("%s: identity must run as one replica, has %v", w.obj, replicas)
			}
			if slices.Contains(runs[w.obj.name()], "conference") && replicas != 2 {
				t.Errorf("%s: conference runs 2 replicas, has %v", w.obj, replicas)
			}
		}
	})

	t.Run("state", func(t *testing.T) {
		for _, w := range workloads {
			spec := ypath(w.obj.doc, "spec", "template", "spec")
			replicas, _ := ypath(w.obj.doc, "spec", "replicas").(int)
			for _, svc := range runs[w.obj.name()] {
				path, ok := deployState[svc]
				if !ok {
					continue
				}
				var volume, at string
				for _, m := range ylist(w.container["volumeMounts"]) {
					// The deepest mount holds the path, as in the container.
					if mp := ystr(ypath(m, "mountPath")); deployCovers(mp, path) && len(mp) > len(at) {
						volume, at = ystr(ypath(m, "name")), mp
					}
				}
				var src any
				for _, v := range ylist(ypath(spec, "volumes")) {
					if ystr(ypath(v, "name")) == volume {
						src = v
					}
				}
				claim := ystr(ypath(src, "persistentVolumeClaim", "claimName"))
				switch {
				case ypath(src, "secret") != nil:
				case claim != "":
					modes := ylist(ypath(byKind["PersistentVolumeClaim"][claim].doc, "spec", "accessModes"))
					if replicas > 1 && !slices.Contains(modes, any("ReadWriteMany")) {
						t.Errorf("%s: %d replicas of %s share %s on claim %s, which is not ReadWriteMany", w.obj, replicas, svc, path, claim)
					}
				default:
					t.Errorf("%s: %s keeps files in %s, want a volume claim or a secret there (volume %q)", w.obj, svc, path, volume)
				}
			}
		}
	})

	// Every process that opens the log reads one master key, from one key
	// of one Secret.
	t.Run("master key", func(t *testing.T) {
		type source struct{ secret, key string }
		var shared *source
		for _, w := range workloads {
			path := w.config.MasterKeyFile
			if w.config.gateway || path == "" {
				continue // deployCheckConfig says so
			}
			var mount map[string]any
			for _, m := range ylist(w.container["volumeMounts"]) {
				if mp := ystr(ypath(m, "mountPath")); deployCovers(mp, path) && len(mp) > len(ystr(ypath(mount, "mountPath"))) {
					mount = ymap(m)
				}
			}
			var vol any
			for _, v := range ylist(ypath(w.obj.doc, "spec", "template", "spec", "volumes")) {
				if mount != nil && ystr(ypath(v, "name")) == ystr(mount["name"]) {
					vol = v
				}
			}
			secret := ystr(ypath(vol, "secret", "secretName"))
			if secret == "" {
				t.Errorf("%s: %s_MASTER_KEY_FILE is %s, which no secret volume holds", w.obj, envPrefix, path)
				continue
			}
			// The file's name in the volume: a subPath mount is the file
			// itself, items rename keys, and otherwise the key is the name.
			rel := strings.TrimPrefix(strings.TrimPrefix(path, ystr(mount["mountPath"])), "/")
			if sub := ystr(mount["subPath"]); sub != "" {
				rel = strings.TrimPrefix(sub+"/"+rel, "/")
				rel = strings.TrimSuffix(rel, "/")
			}
			key := rel
			if items := ylist(ypath(vol, "secret", "items")); items != nil {
				key = ""
				for _, it := range items {
					if ystr(ypath(it, "path")) == rel {
						key = ystr(ypath(it, "key"))
					}
				}
			}
			s, ok := byKind["Secret"][secret]
			switch {
			case !ok:
				continue // "settings and references" says so
			case key == "" || ypath(s.doc, "stringData", key) == nil && ypath(s.doc, "data", key) == nil:
				t.Errorf("%s: %s_MASTER_KEY_FILE %s: secret %s has no key for %q", w.obj, envPrefix, path, secret, rel)
				continue
			}
			if shared != nil && *shared != (source{secret, key}) {
				t.Errorf("%s: the master key is key %s of secret %s, another Deployment has key %s of %s", w.obj, key, secret, shared.key, shared.secret)
			}
			shared = &source{secret, key}
		}
	})

	t.Run("probes", func(t *testing.T) {
		for _, w := range workloads {
			named := map[string]int{}
			var numbers []int
			for _, p := range ylist(w.container["ports"]) {
				n, _ := ypath(p, "containerPort").(int)
				numbers = append(numbers, n)
				if name := ystr(ypath(p, "name")); name != "" {
					named[name] = n
				}
			}
			listen := deployListenPort(w.config.Addr)
			if !slices.Contains(numbers, listen) {
				t.Errorf("%s: serve listens on %s, not a containerPort (%v)", w.obj, w.config.Addr, numbers)
			}
			for _, p := range []struct{ probe, path string }{
				{"readinessProbe", "/readyz"},
				{"livenessProbe", "/healthz"},
			} {
				get := ypath(w.container, p.probe, "httpGet")
				if get == nil {
					t.Errorf("%s: no HTTP %s", w.obj, p.probe)
					continue
				}
				if got := ystr(ypath(get, "path")); got != p.path {
					t.Errorf("%s: %s on %q, want %s", w.obj, p.probe, got, p.path)
				}
				port, isNumber := ypath(get, "port").(int)
				if !isNumber {
					port = named[ystr(ypath(get, "port"))]
				}
				if port != listen {
					t.Errorf("%s: %s on port %v, serve listens on %d", w.obj, p.probe, ypath(get, "port"), listen)
				}
			}
		}
	})

	target := func(where string, u *url.URL, want string) {
		host, _, _ := strings.Cut(u.Hostname(), ".") // name, name.ns, name.ns.svc…
		svc, ok := byKind["Service"][host]
		if !ok {
			t.Errorf("%s: %s: no Service %q", where, u, host)
			return
		}
		found := false
		for _, p := range ylist(ypath(svc.doc, "spec", "ports")) {
			found = found || ypath(p, "port") == deployURLPort(u)
		}
		if !found {
			t.Errorf("%s: %s: Service %s has no port %d", where, u, host, deployURLPort(u))
		}
		if want == "" {
			return
		}
		selects := false
		for _, d := range deploySelected(objs, ymap(ypath(svc.doc, "spec", "selector"))) {
			selects = selects || slices.Contains(runs[d], want)
		}
		if !selects {
			t.Errorf("%s: %s: Service %s selects no pods that run %s", where, u, host, want)
		}
	}
	t.Run("addresses", func(t *testing.T) {
		for _, w := range workloads {
			deployCheckConfig(t, w.obj.String(), w.config, runs[w.obj.name()], target)
		}
	})
}

// ---- the image and the documentation ----

var deployEnvName = regexp.MustCompile(`\b` + envPrefix + `_[A-Z0-9_]+\b`)

func TestDeployDockerfile(t *testing.T) {
	known := deployKnownEnv(t)
	data, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			names = append(names, deployEnvName.FindAllString(line, -1)...)
		}
	}
	deployCheckEnv(t, known, "Dockerfile", names)
	for _, want := range []string{`ENTRYPOINT ["yunqi"]`, `CMD ["serve"]`, `VOLUME ["/data"]`, "CGO_ENABLED=0", "./services/cmd/yunqi"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Dockerfile: no %s", want)
		}
	}
}

// TestDeployReadme: the settings table in infra/deploy/README.md names
// every setting serve reads, and nothing else.
func TestDeployReadme(t *testing.T) {
	known := deployKnownEnv(t)
	data, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"+envPrefix+"_"); ok {
			name, _, _ := strings.Cut(rest, "`")
			documented[envPrefix+"_"+name] = true
		}
	}
	deployCheckEnv(t, known, "infra/deploy/README.md", slices.Sorted(maps.Keys(documented)))
	for _, n := range slices.Sorted(maps.Keys(known)) {
		if !documented[n] {
			t.Errorf("infra/deploy/README.md: setting %s is missing from the table", n)
		}
	}
}
