package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/lockfile"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/bleveindex"
)

func openBleve(dir string) (search.Index, error) { return bleveindex.Open(dir, bleveindex.Options{}) }

type fixture struct {
	t     testing.TB
	data  string
	store *sqlitestore.Store
	svc   *search.Service
	stop  func()
	r     chi.Router
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	data := t.TempDir()
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, data: data, store: store}
	f.start()
	t.Cleanup(func() { f.stop() })
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	svc, err := search.New(search.Config{Dir: filepath.Join(f.data, "index"), Open: openBleve}, f.store, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	f.svc = svc
	f.stop = func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Run: %v", err)
		}
		f.stop = func() {}
	}
	f.r = chi.NewRouter()
	svc.Mount(f.r)
	deadline := time.Now().Add(20 * time.Second)
	for svc.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			f.t.Fatal("the search service did not catch up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// appendPost writes a blog event as the blog service would.
func (f *fixture) appendPost(payload any, vis events.Visibility) events.Position {
	f.t.Helper()
	var blog, slug string
	switch p := payload.(type) {
	case events.PostImported:
		blog, slug = p.Blog, p.Slug
	case events.PostRevised:
		blog, slug = p.Blog, p.Slug
	case events.PostWithdrawn:
		blog, slug = p.Blog, p.Slug
	}
	ev, err := events.Types.New(payload, events.Metadata{Actor: events.ActorSystem, Visibility: vis, OccurredAt: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.store.Append(context.Background(), events.PostStream(blog, slug), events.Any, ev)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Position
}

func (f *fixture) wait(p events.Position) {
	f.t.Helper()
	// Generous: the first document loads the dictionaries, which takes
	// over ten seconds under the race detector.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := f.svc.WaitFor(ctx, p); err != nil {
		f.t.Fatalf("the index did not reach %s: %v", p, err)
	}
}

func (f *fixture) get(url string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.r.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
	return w
}

type apiResponse struct {
	Hits []struct {
		Type, Blog, Slug, Title string
		Formatted               map[string]any `json:"_formatted"`
	}
	EstimatedTotalHits int                       `json:"estimatedTotalHits"`
	FacetDistribution  map[string]map[string]int `json:"facetDistribution"`
	ProcessingTimeMs   *int                      `json:"processingTimeMs"`
	Limit, Offset      int
}

func (f *fixture) search(url string) apiResponse {
	f.t.Helper()
	w := f.get(url)
	if w.Code != http.StatusOK {
		f.t.Fatalf("GET %s = %d %s", url, w.Code, w.Body)
	}
	var r apiResponse
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func imported(blog, slug, title, body string) events.PostImported {
	return events.PostImported{Blog: blog, Slug: slug, PostContent: events.PostContent{
		Title: title, Body: body, Authors: []string{"杜勇"}, Tags: []string{"cloud"}, Date: time.Date(2014, 5, 1, 0, 0, 0, 0, time.UTC),
	}}
}

func TestProjectorFollowsTheLog(t *testing.T) {
	f := newFixture(t)
	f.appendPost(imported("progress", "move", "上云之路", "# 上云之路\n\n我们把**数据库**迁移到了云上。"), events.Public)
	p := f.appendPost(imported("progress", "ops", "运维笔记", "监控与<b>报警</b>"), events.Public)
	f.wait(p)
	r := f.search("/api/search?q=数据库&type=post")
	if len(r.Hits) != 1 || r.Hits[0].Slug != "move" || r.Hits[0].Blog != "progress" || r.Hits[0].Type != "post" {
		t.Fatalf("hits %+v", r.Hits)
	}
	if body, _ := r.Hits[0].Formatted["body"].(string); !strings.Contains(body, "<em>数据库</em>") || strings.Contains(body, "**") {
		t.Errorf("_formatted.body = %q: want the match marked and no Markdown", body)
	}

	// A revision replaces the text; a withdrawal takes the post out.
	f.appendPost(events.PostRevised{Blog: "progress", Slug: "move", PostContent: events.PostContent{Title: "上云之路", Body: "迁移了消息队列"}}, events.Public)
	p = f.appendPost(events.PostWithdrawn{Blog: "progress", Slug: "ops"}, events.Public)
	f.wait(p)
	if r := f.search("/api/search?q=数据库"); len(r.Hits) != 0 {
		t.Errorf("the revised-away word still finds %+v", r.Hits)
	}
	if r := f.search("/api/search?q=消息队列"); len(r.Hits) != 1 {
		t.Errorf("the revised text is not found: %+v", r.Hits)
	}
	if r := f.search("/api/search?q=报警"); len(r.Hits) != 0 {
		t.Errorf("a withdrawn post is still found: %+v", r.Hits)
	}

	// Nothing that is not public reaches the index, and a registration
	// (with its email) is not even decoded.
	f.appendPost(imported("progress", "secret", "内部草稿", "机密内容 staffonly"), events.Staff)
	ev, _ := events.Types.New(events.UserRegistered{}, events.Metadata{Visibility: events.Owner})
	if _, err := f.store.Append(context.Background(), "user-00000000-0000-7000-8000-000000000001", events.Any, ev); err != nil {
		t.Fatal(err)
	}
	// Wait for a later post.
	f.wait(f.appendPost(imported("progress", "marker", "Marker", "marker"), events.Public))
	if r := f.search("/api/search?q=staffonly"); len(r.Hits) != 0 {
		t.Errorf("a staff event was indexed: %+v", r.Hits)
	}
}

func TestRestartResumesFromTheCheckpoint(t *testing.T) {
	f := newFixture(t)
	p := f.appendPost(imported("b", "one", "First", "alpha"), events.Public)
	f.wait(p)
	f.stop()
	// Written while the service is down.
	f.appendPost(imported("b", "two", "Second", "beta"), events.Public)
	f.start()
	if r := f.search("/api/search?q=alpha"); len(r.Hits) != 1 {
		t.Errorf("lost the document written before the restart: %+v", r.Hits)
	}
	if r := f.search("/api/search?q=beta"); len(r.Hits) != 1 {
		t.Errorf("missed the document written during the restart: %+v", r.Hits)
	}
	if r := f.search("/api/search"); r.EstimatedTotalHits != 2 {
		t.Errorf("%d documents after the restart, want 2 (nothing twice)", r.EstimatedTotalHits)
	}
}

func TestTheIndexBelongsToOneProcess(t *testing.T) {
	f := newFixture(t)
	_, err := search.New(search.Config{Dir: filepath.Join(f.data, "index"), Open: openBleve}, f.store, nil)
	var held *lockfile.HeldError
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("a second service on the same index: %v, want a HeldError naming the holder", err)
	}
}

func TestAPIContract(t *testing.T) {
	f := newFixture(t)
	var p events.Position
	for _, s := range []string{"a", "b", "c"} {
		p = f.appendPost(imported("goblog", s, "Post "+s, "generics and more"), events.Public)
	}
	f.wait(p)
	r := f.search(`/api/search?q=generics&filter=blog+%3D+%22goblog%22&facets=blog,tags&limit=2&offset=1`)
	if len(r.Hits) != 2 || r.EstimatedTotalHits != 3 || r.Limit != 2 || r.Offset != 1 || r.ProcessingTimeMs == nil {
		t.Errorf("response %+v", r)
	}
	if r.FacetDistribution["blog"]["goblog"] != 3 || r.FacetDistribution["tags"]["cloud"] != 3 {
		t.Errorf("facetDistribution %v", r.FacetDistribution)
	}
	// Placeholder search: no q.
	if r := f.search("/api/search?type=post"); r.EstimatedTotalHits != 3 || len(r.Hits) != 3 {
		t.Errorf("placeholder: %+v", r)
	}
	for url, want := range map[string]string{
		"/api/search?filter=blog+%7E+x":                       "character 6",
		"/api/search?filter=blog+%3D":                         "character 7",
		"/api/search?filter=nope+%3D+1":                       "cannot be filtered",
		"/api/search?q=" + strings.Repeat("x", 10000):         "at most 1000 characters",
		"/api/search?limit=5000":                              "limit",
		"/api/search?offset=-1":                               "offset",
		"/api/search?facets=body":                             "facet",
		"/api/search?type=member":                             "type",
		"/api/search?q=%FF%FE":                                "UTF-8",
		"/api/search?filter=" + strings.Repeat("(", 40) + "a": "deeper",
	} {
		w := f.get(url)
		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %.60s = %d %s; want a 400 problem mentioning %q", url, w.Code, w.Body, want)
		}
	}
	// 10 words count; a long but allowed query still answers.
	if w := f.get("/api/search?q=" + strings.Repeat("generics+", 100)); w.Code != http.StatusOK {
		t.Errorf("a 100-word query = %d", w.Code)
	}
}

func TestRebuildSwapsWithoutDowntime(t *testing.T) {
	f := newFixture(t)
	var p events.Position
	for _, s := range []string{"a", "b", "c", "d"} {
		p = f.appendPost(imported("b", s, "Title "+s, "rebuild me"), events.Public)
	}
	f.wait(p)
	before := f.svc.Index()
	stop := make(chan struct{})
	failures := make(chan string, 100)
	go func() {
		for {
			select {
			case <-stop:
				close(failures)
				return
			default:
			}
			w := f.get("/api/search?q=rebuild")
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"estimatedTotalHits":4`) {
				failures <- w.Body.String()
			}
		}
	}()
	var lines []string
	if err := search.RequestRebuild(context.Background(), filepath.Join(f.data, "index"), func(s string) { lines = append(lines, s) }); err != nil {
		t.Fatalf("rebuild over the socket: %v", err)
	}
	close(stop)
	for fail := range failures {
		t.Errorf("a search during the rebuild failed: %s", fail)
		break
	}
	if f.svc.Index() == before {
		t.Error("the index was not swapped")
	}
	if len(lines) == 0 {
		t.Error("no progress reported")
	}
	// The new index follows the log.
	p = f.appendPost(imported("b", "e", "Title e", "rebuild me"), events.Public)
	f.wait(p)
	if r := f.search("/api/search?q=rebuild"); r.EstimatedTotalHits != 5 {
		t.Errorf("after the rebuild, %d hits, want 5", r.EstimatedTotalHits)
	}
	// A restart opens the rebuilt generation.
	f.stop()
	f.start()
	if r := f.search("/api/search?q=rebuild"); r.EstimatedTotalHits != 5 {
		t.Errorf("after a restart, %d hits, want 5", r.EstimatedTotalHits)
	}
}

func TestOfflineRebuild(t *testing.T) {
	f := newFixture(t)
	p := f.appendPost(imported("b", "a", "Title", "offline"), events.Public)
	f.wait(p)
	f.stop()
	cfg := search.Config{Dir: filepath.Join(f.data, "index"), Open: openBleve}
	if err := search.RebuildOffline(context.Background(), cfg, f.store, nil, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(cfg.Dir)
	var gens []string
	for _, e := range entries {
		if e.IsDir() {
			gens = append(gens, e.Name())
		}
	}
	if len(gens) != 1 || gens[0] != "g2" {
		t.Errorf("index generations after an offline rebuild: %q, want only g2", gens)
	}
	f.start()
	if r := f.search("/api/search?q=offline"); r.EstimatedTotalHits != 1 {
		t.Errorf("after an offline rebuild: %+v", r)
	}
}
