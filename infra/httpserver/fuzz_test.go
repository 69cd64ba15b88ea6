package httpserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzCommand has the shapes the services' commands have: strings,
// numbers, dates, nested objects and lists.
type fuzzCommand struct {
	ID   string `json:"id"`
	Name struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"name"`
	Capacity int                   `json:"capacity"`
	Deadline time.Time             `json:"deadline"`
	Open     *bool                 `json:"open"`
	Weight   float64               `json:"weight"`
	Tracks   []struct{ ID string } `json:"tracks"`
}

// FuzzDecodeJSON: every JSON body is a command or a 4xx problem that a
// client can act on; never a panic, never a 5xx.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"id":"yunqi-2015","name":{"zh":"云栖","en":"Yunqi"},"capacity":22000,"deadline":"2015-10-01T00:00:00Z","tracks":[{"ID":"a"}]}`,
		`{"capacity":1e400}`, `{"deadline":"tomorrow"}`, `{"id":1}`, `{"extra":true}`, `{} {}`, `[`, `null`, "\xff\xfe", `{"name":{"zh":"\ud800"}}`} {
		f.Add(s, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<10)
		var c fuzzCommand
		err := DecodeJSON(r, &c)
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 || p.Detail == "" {
			t.Fatalf("body %q (%s) refused without a 4xx problem that explains it: %v", body, contentType, err)
		}
	})
}
