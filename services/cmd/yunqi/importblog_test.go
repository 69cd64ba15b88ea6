package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestImportBlogWhileServing imports a folder with the command while the
// server runs on the same data: the server's lists follow, and the same
// import again writes nothing.
func TestImportBlogWhileServing(t *testing.T) {
	data := t.TempDir()
	base, _ := serve(t, data)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go1.22.md":   "---\ntitle: Go 1.22 is released!\ndate: 2024-02-06\nby: [Eli Bendersky]\n---\nText.\n",
		"09.4.md":     "# 9.4 避免SQL注入\n\n正文。\n",
		"redirect.md": "---\nredirect: /blog/x\n---\n",
		"README.md":   "Notes about this folder.\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	var progress bytes.Buffer
	progressOutput = &progress
	t.Cleanup(func() { progressOutput = os.Stderr })

	out, err := runCmd(t, "import", "blog", "--data", data, "--blog", "goblog", dir)
	if err != nil {
		t.Fatalf("import blog: %v\n%s", err, out)
	}
	for _, want := range []string{
		"goblog: 2 imported, 0 revised, 0 unchanged, 2 skipped (4 in all",
		"redirect.md: a redirect stub (to /blog/x), not a post",
		"README.md: a README without a title",
		"Posts of goblog that were not in this import are left as they are.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Without a terminal, progress is plain lines (the last one at least).
	if !strings.Contains(progress.String(), "import goblog: 4/4 posts (2 new, 0 revised, 0 unchanged, 2 skipped)") {
		t.Errorf("progress = %q", progress.String())
	}
	waitUntil(t, func() bool {
		_, body := call(t, "GET", base+"/api/blog/blogs/goblog/posts", "", "")
		return strings.Contains(body, `"total":2`)
	})
	if resp, body := call(t, "GET", base+"/blog/goblog/go1.22", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "Go 1.22 is released!") {
		t.Errorf("post page: %d", resp.StatusCode)
	}

	out, err = runCmd(t, "import", "blog", "--data", data, "--blog", "goblog", dir)
	if err != nil || !strings.Contains(out, "goblog: 0 imported, 0 revised, 2 unchanged, 2 skipped") {
		t.Errorf("again: %v\n%s", err, out)
	}
}

func TestImportBlogInvocations(t *testing.T) {
	out, err := runCmd(t, "import", "blog", "-h")
	if err != nil || !strings.Contains(out, "import blog --blog NAME [flags] PATH") || !strings.Contains(out, "redirect") {
		t.Errorf("help: %v\n%s", err, out)
	}
	if out, _ := runCmd(t, "help"); !strings.Contains(out, "import") {
		t.Errorf("help lacks the import command:\n%s", out)
	}
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "import: which command? blog"},
		{[]string{"import", "blog", "--data", data, t.TempDir()}, "--blog NAME is required"},
		{[]string{"import", "blog", "--data", data, "--blog", "Go.Blog", t.TempDir()}, "blog name \"Go.Blog\" must be"},
		{[]string{"import", "blog", "--data", data, "--blog", "goblog"}, "name at least one PATH"},
		{[]string{"import", "blog", "--data", data, "--blog", "goblog", filepath.Join(data, "missing")}, "no such file or directory"},
	} {
		if _, err := runCmd(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("yunqi %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestBlogAPIAnswersMatchTheDocument holds the blog API's answers, good
// and bad, against /api/openapi.json.
func TestBlogAPIAnswersMatchTheDocument(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)
	a.signUp("org@example.com", "Org")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	org, _ := a.logIn("org@example.com")
	a.signUp("member@example.com", "Member")
	member, _ := a.logIn("member@example.com")

	upload := func(token string, files ...[2]string) *httptest.ResponseRecorder {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range files {
			w, _ := mw.CreateFormFile("file", f[0])
			w.Write([]byte(f[1]))
		}
		mw.Close()
		r := httptest.NewRequest("POST", "/api/blog/blogs/goblog/imports", &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		a.app.server.ServeHTTP(w, r)
		return w
	}
	expect := func(method, pattern string, w *httptest.ResponseRecorder, want int) {
		t.Helper()
		if w.Code != want {
			t.Errorf("%s %s = %d, want %d: %s", method, pattern, w.Code, want, w.Body)
		}
		if err := doc.check(method, pattern, w); err != nil {
			t.Error(err)
		}
	}
	const (
		imports = "/api/blog/blogs/{blog}/imports"
		blogs   = "/api/blog/blogs"
		posts   = "/api/blog/blogs/{blog}/posts"
		post    = "/api/blog/blogs/{blog}/posts/{slug}"
	)
	files := [][2]string{
		{"go1.22.md", "---\ntitle: Go 1.22 is released!\ndate: 2024-02-06\nby: [Eli Bendersky]\ntags: [release]\nsummary: Loops.\n---\nText.\n"},
		{"09.4.md", "# 9.4 避免SQL注入\n"},
		{"broken.md", "---\ntitle: [x\n---\n"},
	}
	expect("POST", imports, upload(org, files...), http.StatusOK)
	expect("POST", imports, upload(member, files...), http.StatusForbidden)
	expect("POST", imports, upload("", files...), http.StatusUnauthorized)
	expect("POST", imports, upload(org), http.StatusUnprocessableEntity)
	expect("POST", imports, a.do("POST", "/api/blog/blogs/goblog/imports", org, `{}`), http.StatusUnsupportedMediaType)

	expect("GET", blogs, a.do("GET", "/api/blog/blogs", "", ""), http.StatusOK)
	expect("GET", blogs, a.do("GET", "/api/blog/blogs?limit=0", "", ""), http.StatusUnprocessableEntity)
	expect("GET", posts, a.do("GET", "/api/blog/blogs/goblog/posts?limit=1", "", ""), http.StatusOK)
	expect("GET", posts, a.do("GET", "/api/blog/blogs/nope/posts", "", ""), http.StatusNotFound)
	expect("GET", post, a.do("GET", "/api/blog/blogs/goblog/posts/go1.22", "", ""), http.StatusOK)
	expect("GET", post, a.do("GET", "/api/blog/blogs/goblog/posts/09.4", "", ""), http.StatusOK)
	expect("GET", post, a.do("GET", "/api/blog/blogs/goblog/posts/broken", "", ""), http.StatusNotFound)
}
