package blog

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// mintAs mints a token for user, who writes under name.
func (tk *tokens) mintAs(t testing.TB, user, name string, roles ...string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "yunqi-test", Subject: user, Audience: jwt.ClaimStrings{"yunqi-test"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Roles: append([]string{auth.RoleMember}, roles...),
		Name:  name,
	})
	tok.Header["kid"], tok.Header["typ"] = tk.kid, auth.TokenType
	s, err := tok.SignedString(tk.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *bookSite) call(method, path, token, body string, want int) string {
	s.t.Helper()
	w := s.do(method, path, token, strings.NewReader(body), "Content-Type", "application/json")
	if w.Code != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body)
	}
	return w.Body.String()
}

func (f *fixture) erase(user string) {
	f.t.Helper()
	p, err := events.Types.New(events.AccountErased{UserID: user, By: events.ErasedBySelf},
		events.Metadata{Actor: user, Visibility: events.Owner, OccurredAt: time.Now().UTC()})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.Append(context.Background(), events.UserStream(user), events.Any, p); err != nil {
		f.t.Fatal(err)
	}
	f.sync()
}

// TestErasedAuthorStaysAsErasedPerson: the posts an erased person wrote
// stay with their blog, and every page that named them (the post, the
// blog, the feeds, a collection's contents and chapter, the history)
// says "erased person" instead; a co-author's later revision does not
// name them again, and a service started afterwards shows the same.
func TestErasedAuthorStaysAsErasedPerson(t *testing.T) {
	s := newBookSite(t)
	ada := s.tokens.mintAs(t, "u-ada", "杜勇")
	bo := s.tokens.mintAs(t, "u-bo", "Bo Lee")
	org := s.tokens.mintAs(t, "u-org", "Organiser", auth.RoleOrganizer)
	s.call("POST", "/api/blog/blogs", ada, `{"name":"notes","title":"云上笔记"}`, http.StatusCreated)
	s.call("PUT", "/api/blog/blogs/notes/coauthors/u-bo", ada, `{"name":"Bo Lee"}`, http.StatusOK)
	s.call("POST", "/api/blog/blogs/notes/posts", ada, `{"slug":"disk","title":"磁盘抖动","markdown":"第一稿","published":true}`, http.StatusCreated)
	s.call("PUT", "/api/blog/blogs/notes/posts/disk", bo, `{"title":"磁盘抖动","markdown":"第二稿","published":true}`, http.StatusOK)
	s.call("POST", "/api/blog/blogs/notes/posts", bo, `{"slug":"net","title":"网络","markdown":"text","published":true}`, http.StatusCreated)
	s.call("POST", "/api/blog/collections", org, `{"id":"book","title":"进步集","chapters":[{"blog":"notes","slug":"disk"},{"blog":"notes","slug":"net"}]}`, http.StatusCreated)
	s.call("POST", "/api/blog/collections/book/publish", org, `{}`, http.StatusOK)
	s.sync()
	if body := s.expect(s.page("GET", "/blog/notes/disk", "", "zh-CN", nil), http.StatusOK); !strings.Contains(body, "杜勇") {
		t.Fatal("the post does not name its author before the erasure")
	}

	s.erase("u-ada")

	pages := []string{"/blog/notes/disk", "/blog/notes/", "/blog/collections/book/", "/blog/collections/book/editions/1/1"}
	check := func(site *bookSite) {
		t.Helper()
		for _, lang := range []string{"zh-CN", "en"} {
			erased := map[string]string{"zh-CN": "已删除的用户", "en": "erased person"}[lang]
			for _, path := range pages {
				body := site.expect(site.page("GET", path, "", lang, nil), http.StatusOK)
				for _, want := range []string{erased, "Bo Lee"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s (%s) lacks %q", path, lang, want)
					}
				}
				if strings.Contains(body, "杜勇") {
					t.Errorf("%s (%s) still names the erased author", path, lang)
				}
			}
			body := site.expect(site.page("GET", "/blog/write/notes/posts/disk/revisions", bo, lang, nil), http.StatusOK, erased)
			site.lacks(body, "杜勇")
		}
		for _, path := range []string{"/api/blog/blogs/notes/posts/disk", "/api/blog/blogs/notes", "/blog/feed.atom", "/blog/notes/feed.rss",
			"/api/blog/collections/book", "/api/blog/blogs/notes/posts/disk/revisions"} {
			w := site.do("GET", path, bo, nil)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "杜勇") {
				t.Errorf("GET %s: %d, still names the erased author: %v", path, w.Code, strings.Contains(w.Body.String(), "杜勇"))
			}
		}
		if w := site.page("GET", "/blog/authors/"+url.PathEscape("杜勇"), "", "zh-CN", nil); w.Code != http.StatusNotFound {
			t.Errorf("the erased author's page answers %d", w.Code)
		}
	}
	check(s)

	s.call("PUT", "/api/blog/blogs/notes/posts/disk", bo, `{"title":"磁盘抖动","markdown":"第三稿","published":true}`, http.StatusOK)
	s.sync()
	evs, err := s.store.ReadStream(context.Background(), events.PostStream("notes", "disk"), events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	if strings.Contains(string(evs[0].Data), "杜勇") {
		t.Errorf("a revision after the erasure names the erased author: %s", evs[0].Data)
	}
	check(s)

	// A service started on the log afterwards reads the erasure in order.
	again := newBookSiteOn(t, s.fixture)
	check(again)
}

// TestOwnerDeletesBlog: only the owner deletes a blog, with its name typed
// on the page to confirm; its posts leave the pages, the feeds and the
// collections that held them, and the name is not given again.
func TestOwnerDeletesBlog(t *testing.T) {
	s := newBookSite(t)
	ada := s.tokens.mintAs(t, "u-ada", "杜勇")
	bo := s.tokens.mintAs(t, "u-bo", "Bo Lee")
	org := s.tokens.mintAs(t, "u-org", "Organiser", auth.RoleOrganizer)
	s.call("POST", "/api/blog/blogs", ada, `{"name":"gone","title":"要删的博客"}`, http.StatusCreated)
	s.call("PUT", "/api/blog/blogs/gone/coauthors/u-bo", ada, `{"name":"Bo Lee"}`, http.StatusOK)
	s.call("POST", "/api/blog/blogs/gone/posts", ada, `{"slug":"p1","title":"消失的文章","markdown":"text","published":true}`, http.StatusCreated)
	s.call("POST", "/api/blog/blogs", bo, `{"name":"stays","title":"留下的博客"}`, http.StatusCreated)
	s.call("POST", "/api/blog/blogs/stays/posts", bo, `{"slug":"p2","title":"留下的文章","markdown":"text","published":true}`, http.StatusCreated)
	s.call("POST", "/api/blog/collections", org, `{"id":"mix","title":"合集","chapters":[{"blog":"gone","slug":"p1"},{"blog":"stays","slug":"p2"}]}`, http.StatusCreated)
	s.call("POST", "/api/blog/collections/mix/publish", org, `{}`, http.StatusOK)
	s.sync()

	s.call("DELETE", "/api/blog/blogs/gone", bo, "", http.StatusForbidden)
	s.call("DELETE", "/api/blog/blogs/gone", org, "", http.StatusForbidden)
	s.call("DELETE", "/api/blog/blogs/gone", "", "", http.StatusUnauthorized)

	desk := s.expect(s.page("GET", "/blog/write/gone/", ada, "en", nil), http.StatusOK, "Delete the blog for good")
	if !strings.Contains(desk, `name="confirm_name"`) {
		t.Fatal("the owner's page has no confirmation field")
	}
	s.lacks(s.expect(s.page("GET", "/blog/write/gone/", bo, "en", nil), http.StatusOK), "Delete the blog for good")
	s.expect(s.page("POST", "/blog/write/gone/", ada, "zh-CN", url.Values{"action": {"delete_blog"}, "confirm_name": {"gone?"}}),
		http.StatusUnprocessableEntity, "请准确输入 gone 才能删除博客")
	if w := s.page("GET", "/blog/gone/p1", "", "zh-CN", nil); w.Code != http.StatusOK {
		t.Fatalf("a refused confirmation deleted the blog: %d", w.Code)
	}
	w := s.page("POST", "/blog/write/gone/", ada, "en", url.Values{"action": {"delete_blog"}, "confirm_name": {"gone"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/blog/write/" {
		t.Fatalf("delete: %d %s", w.Code, w.Header().Get("Location"))
	}
	s.sync()

	check := func(site *bookSite) {
		t.Helper()
		for _, path := range []string{"/blog/gone/", "/blog/gone/p1", "/api/blog/blogs/gone/posts/p1", "/api/blog/blogs/gone", "/blog/gone/feed.atom"} {
			if w := site.do("GET", path, "", nil); w.Code != http.StatusNotFound {
				t.Errorf("GET %s after the deletion: %d", path, w.Code)
			}
		}
		for _, path := range []string{"/blog/", "/blog/feed.atom", "/sitemap.xml", "/api/blog/blogs", "/blog/collections/mix/", "/api/blog/collections/mix",
			"/blog/collections/mix/editions/1/print"} {
			w := site.do("GET", path, "", nil)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "消失的文章") || strings.Contains(w.Body.String(), "/blog/gone/") {
				t.Errorf("GET %s after the deletion: %d, still shows the deleted blog's post", path, w.Code)
			}
		}
		site.expect(site.page("GET", "/blog/collections/mix/", "", "zh-CN", nil), http.StatusOK, "留下的文章")
		site.lacks(site.expect(site.page("GET", "/blog/write/", ada, "en", nil), http.StatusOK), "要删的博客")
		site.call("POST", "/api/blog/blogs", ada, `{"name":"gone","title":"again"}`, http.StatusConflict)
		site.call("DELETE", "/api/blog/blogs/gone", ada, "", http.StatusNotFound)
		if _, err := ImportFiles(context.Background(), site.store, []string{writeFiles(t, map[string]string{"x.md": "# X\n\ntext"})}, ImportOptions{Blog: "gone"}); err == nil {
			t.Error("an import into the deleted blog was taken")
		}
	}
	check(s)
	check(newBookSiteOn(t, s.fixture))
}
