package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	http.StripPrefix("/static/", Static()).ServeHTTP(w, r)
	return w
}

func TestStylesheet(t *testing.T) {
	h := Static()
	w := get(t, h, "/static/style.css")
	if w.Code != 200 {
		t.Fatalf("GET style.css = %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q", ct)
	}
	body := w.Body.String()
	for _, want := range []string{"PingFang SC", "Noto Sans CJK SC", "font-family"} {
		if !strings.Contains(body, want) {
			t.Errorf("stylesheet lacks %q", want)
		}
	}
	etag := w.Header().Get("ETag")
	if etag == "" || !strings.Contains(w.Header().Get("Cache-Control"), "max-age=") {
		t.Fatalf("caching headers: ETag %q, Cache-Control %q", etag, w.Header().Get("Cache-Control"))
	}
	if w := get(t, h, "/static/style.css", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("revalidation with the current ETag = %d, want 304", w.Code)
	}
}

func TestNoListingsOrEscapes(t *testing.T) {
	h := Static()
	for _, p := range []string{"/static/", "/static/missing.css", "/static/../web.go"} {
		if w := get(t, h, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}
