package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// openAPIPath is where the API description is served.
const openAPIPath = "/api/openapi.json"

// openAPIBase is the document's frame: its info, the description endpoint
// itself, and what every service shares (problem answers, the security
// schemes, Idempotency-Key). Services add their paths and schemas to it.
//
//go:embed openapi.json
var openAPIBase []byte

// openAPIDocument merges the services' fragments into the base document.
// A path or component defined twice is an error, not a silent overwrite:
// two services claiming one name is a bug to fix where it was made.
func openAPIDocument(services []service) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi base document: %w", err)
	}
	owner := map[string]string{}
	for p := range doc["paths"].(map[string]any) {
		owner["path "+p] = "the binary"
	}
	for section, named := range doc["components"].(map[string]any) {
		for name := range named.(map[string]any) {
			owner["components."+section+" "+name] = "the binary"
		}
	}
	for _, s := range services {
		if s.openAPI == nil {
			continue
		}
		var frag struct {
			Tags       []any                     `json:"tags"`
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		dec := json.NewDecoder(bytes.NewReader(s.openAPI))
		// A fragment may only add these; anything else (servers, info,
		// security) belongs to the whole document.
		dec.DisallowUnknownFields()
		if err := dec.Decode(&frag); err != nil {
			return nil, fmt.Errorf("openapi fragment of %s: %w", s.name, err)
		}
		doc["tags"] = append(doc["tags"].([]any), frag.Tags...)
		paths := doc["paths"].(map[string]any)
		for p, item := range frag.Paths {
			if !strings.HasPrefix(p, "/") {
				return nil, fmt.Errorf("openapi fragment of %s: path %q does not start with /", s.name, p)
			}
			if err := claim(owner, "path "+p, s.name); err != nil {
				return nil, err
			}
			paths[p] = item
		}
		components := doc["components"].(map[string]any)
		for section, named := range frag.Components {
			into, _ := components[section].(map[string]any)
			if into == nil {
				into = map[string]any{}
				components[section] = into
			}
			for name, v := range named {
				if err := claim(owner, "components."+section+" "+name, s.name); err != nil {
					return nil, err
				}
				into[name] = v
			}
		}
	}
	// encoding/json sorts map keys, so the document is the same bytes at
	// every start and diffs between versions stay readable.
	return json.MarshalIndent(doc, "", "  ")
}

func claim(owner map[string]string, key, by string) error {
	if prev, ok := owner[key]; ok {
		return fmt.Errorf("openapi: %s defined by both %s and %s", key, prev, by)
	}
	owner[key] = by
	return nil
}

func serveOpenAPI(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	}
}
