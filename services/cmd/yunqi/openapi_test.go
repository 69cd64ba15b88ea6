package main

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// apiDoc is the served OpenAPI document, with just enough of a JSON Schema
// reader to hold real answers against it.
type apiDoc struct {
	root map[string]any
}

func loadDoc(t *testing.T, a *testApp) *apiDoc {
	t.Helper()
	w := a.do("GET", openAPIPath, "", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d %s", openAPIPath, w.Code, w.Header().Get("Content-Type"))
	}
	var root map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &root); err != nil {
		t.Fatalf("%s is not JSON: %v", openAPIPath, err)
	}
	return &apiDoc{root: root}
}

// documented reports whether a route belongs in the document: the JSON API
// and the well-known documents. Pages, static files and the operational
// endpoints are not part of the API.
func documented(pattern string) bool {
	return strings.HasPrefix(pattern, "/api/") || strings.HasPrefix(pattern, "/.well-known/")
}

// operations lists "METHOD /path" for every operation in the document.
func (d *apiDoc) operations() []string {
	var ops []string
	for p, item := range d.root["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, m) {
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// resolve follows a local $ref ("#/components/schemas/Problem").
func (d *apiDoc) resolve(v any) (any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("$ref %q is not local", ref)
		}
		var cur any = d.root
		for part := range strings.SplitSeq(strings.TrimPrefix(ref, "#/"), "/") {
			cm, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
			if cur, ok = cm[part]; !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
		}
		v = cur
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// check holds one answer of METHOD pattern against the document: its
// status must be listed, its media type and body must match.
func (d *apiDoc) check(method, pattern string, w *httptest.ResponseRecorder) error {
	paths, _ := d.root["paths"].(map[string]any)
	item, _ := paths[pattern].(map[string]any)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s is not in the document", method, pattern)
	}
	responses, ok := op["responses"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s lists no responses", method, pattern)
	}
	resp, ok := responses[strconv.Itoa(w.Code)]
	if !ok {
		if resp, ok = responses["default"]; !ok {
			return fmt.Errorf("%s %s answered %d, which the document does not list (body %.200s)", method, pattern, w.Code, w.Body)
		}
	}
	r, err := d.resolve(resp)
	if err != nil {
		return err
	}
	content, _ := r.(map[string]any)["content"].(map[string]any)
	if len(content) == 0 {
		if w.Body.Len() > 0 {
			return fmt.Errorf("%s %s %d: the document says no body, got %.200s", method, pattern, w.Code, w.Body)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s %d: Content-Type %q is not one the document lists", method, pattern, w.Code, mt)
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		// A file (a ZIP, a calendar): the document gives its type only.
		if w.Body.Len() == 0 {
			return fmt.Errorf("%s %s %d: empty %s body", method, pattern, w.Code, mt)
		}
		return nil
	}
	var body any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, pattern, w.Code, err)
	}
	if errs := d.validate(media["schema"], body, "body"); len(errs) > 0 {
		return fmt.Errorf("%s %s %d: body does not match the document:\n  %s\nbody: %.300s", method, pattern, w.Code, strings.Join(errs, "\n  "), w.Body)
	}
	return nil
}

// validate checks the parts of JSON Schema the document uses: $ref, type,
// const, enum, required, properties, additionalProperties: false, items.
func (d *apiDoc) validate(schema, v any, at string) []string {
	s, err := d.resolve(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	sm, ok := s.(map[string]any)
	if !ok {
		return nil
	}
	if typ, ok := sm["type"]; ok {
		var types []string
		switch typ := typ.(type) {
		case string:
			types = []string{typ}
		case []any:
			for _, x := range typ {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return jsonIs(v, t) }) {
			return []string{fmt.Sprintf("%s: %v is not of type %v", at, v, typ)}
		}
	}
	if c, ok := sm["const"]; ok && c != v {
		return []string{fmt.Sprintf("%s: %v, want %v", at, v, c)}
	}
	if e, ok := sm["enum"].([]any); ok && !slices.Contains(e, v) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", at, v, e)}
	}
	var errs []string
	switch v := v.(type) {
	case map[string]any:
		props, _ := sm["properties"].(map[string]any)
		required, _ := sm["required"].([]any)
		for _, r := range required {
			if _, ok := v[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: lacks required %q", at, r))
			}
		}
		for k, x := range v {
			ps, ok := props[k]
			if !ok {
				if sm["additionalProperties"] == false {
					errs = append(errs, fmt.Sprintf("%s: %q is not in the schema", at, k))
				}
				continue
			}
			errs = append(errs, d.validate(ps, x, at+"."+k)...)
		}
	case []any:
		if items, ok := sm["items"]; ok {
			for i, x := range v {
				errs = append(errs, d.validate(items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func jsonIs(v any, typ string) bool {
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// apiRoutes walks the real router for the routes the document must cover.
func apiRoutes(t *testing.T, a *testApp) []string {
	t.Helper()
	var routes []string
	err := chi.Walk(a.app.server.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if documented(route) {
			routes = append(routes, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(routes)
	return routes
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)
	if v, _ := doc.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	routes, ops := apiRoutes(t, a), doc.operations()
	if len(routes) == 0 {
		t.Fatal("the router has no API routes")
	}
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("%s is served but not in %s: add it to the owning service's openapi.json", r, openAPIPath)
		}
	}
	for _, o := range ops {
		if !slices.Contains(routes, o) {
			t.Errorf("%s is in %s but nothing serves it", o, openAPIPath)
		}
	}
}

// TestOpenAPIIsWellFormed checks what a client generator would trip over:
// dangling references, duplicate operation ids, undeclared path
// parameters, operations without answers.
func TestOpenAPIIsWellFormed(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)

	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["$ref"]; ok {
				if _, err := doc.resolve(v); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc.root, "#")

	ids := map[string]string{}
	tags := map[string]bool{}
	for _, tg := range doc.root["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = true
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for p, item := range doc.root["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			op := op.(map[string]any)
			where := strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, prev, where)
			}
			ids[id] = where
			if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
				t.Errorf("%s lists no responses", where)
			}
			opTags, _ := op["tags"].([]any)
			if len(opTags) == 0 {
				t.Errorf("%s has no tag", where)
			}
			for _, tg := range opTags {
				if !tags[tg.(string)] {
					t.Errorf("%s has tag %q, which the document does not declare", where, tg)
				}
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, prm := range params {
				r, err := doc.resolve(prm)
				if err != nil {
					continue
				}
				if r := r.(map[string]any); r["in"] == "path" {
					declared[r["name"].(string)] = true
				}
			}
			for _, m := range param.FindAllStringSubmatch(p, -1) {
				if !declared[m[1]] {
					t.Errorf("%s does not declare its path parameter %q", where, m[1])
				}
			}
		}
	}
}

// A service that claims another's path or schema name stops the binary
// from starting, rather than one of them silently disappearing.
func TestOpenAPIMergeRefusesClashes(t *testing.T) {
	frag := func(s string) service { return service{name: "svc", openAPI: []byte(s)} }
	for _, tc := range []struct {
		name     string
		services []service
		want     string
	}{
		{"path twice", []service{frag(`{"paths":{"/api/x":{}}}`), frag(`{"paths":{"/api/x":{}}}`)}, "path /api/x defined by both"},
		{"path of the binary", []service{frag(`{"paths":{"/api/openapi.json":{}}}`)}, "defined by both the binary and svc"},
		{"schema twice", []service{frag(`{"components":{"schemas":{"A":{}}}}`), frag(`{"components":{"schemas":{"A":{}}}}`)}, "components.schemas A"},
		{"shared schema", []service{frag(`{"components":{"schemas":{"Problem":{}}}}`)}, "components.schemas Problem defined by both"},
		{"document-wide key", []service{frag(`{"servers":[]}`)}, `unknown field "servers"`},
		{"relative path", []service{frag(`{"paths":{"api/x":{}}}`)}, "does not start with /"},
	} {
		if _, err := openAPIDocument(tc.services); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.want)
		}
	}
	doc, err := openAPIDocument([]service{frag(`{"tags":[{"name":"svc"}],"paths":{"/api/svc/x":{"get":{}}},"components":{"schemas":{"svc.X":{}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"/api/svc/x"`, `"svc.X"`, `"Problem"`, `"/api/openapi.json"`, `"name": "svc"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("merged document lacks %s", want)
		}
	}
}
