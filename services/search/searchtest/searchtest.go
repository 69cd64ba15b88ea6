// Package searchtest is the conformance suite of search.Index: every
// backend (the embedded Bleve index, Meilisearch) runs the same tests, so
// the service behaves the same on either.
//
// A Meilisearch backend cannot match our ranking everywhere; cases that
// test our engine's own ranking choices (beyond Meilisearch's rules) are
// marked and skipped with Options.SkipEngineRanking.
package searchtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// Options configure the suite for a backend.
type Options struct {
	// Open opens (creating when missing) the index called name. Opening
	// the same name again after Close must give the same index back.
	Open func(t *testing.T, name string) search.Index
	// SkipEngineRanking skips the ranking cases that test the embedded
	// engine's own choices rather than Meilisearch's rules.
	SkipEngineRanking bool
}

// Run runs the suite.
func Run(t *testing.T, o Options) {
	t.Run("WritesAndDeletes", func(t *testing.T) { testWrites(t, o) })
	t.Run("CheckpointIsStoredWithTheDocuments", func(t *testing.T) { testCheckpoint(t, o) })
	t.Run("Placeholder", func(t *testing.T) { testPlaceholder(t, o) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, o) })
	t.Run("Facets", func(t *testing.T) { testFacets(t, o) })
	t.Run("Highlighting", func(t *testing.T) { testHighlighting(t, o) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, o) })
	t.Run("TypoTolerance", func(t *testing.T) { testTypos(t, o) })
	t.Run("PrefixOnLastWord", func(t *testing.T) { testPrefix(t, o) })
	t.Run("Chinese", func(t *testing.T) { testChinese(t, o) })
	t.Run("Pinyin", func(t *testing.T) { testPinyin(t, o) })
	t.Run("Ranking", func(t *testing.T) { testRanking(t, o) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, o) })
	t.Run("Types", func(t *testing.T) { testTypes(t, o) })
	t.Run("NamePinyin", func(t *testing.T) { testNamePinyin(t, o) })
	t.Run("TypeFacets", func(t *testing.T) { testTypeFacets(t, o) })
}

var ctx = context.Background()

var seq int

// fresh opens a new, empty index.
func fresh(t *testing.T, o Options) search.Index {
	t.Helper()
	seq++
	ix := o.Open(t, fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), seq))
	t.Cleanup(func() { ix.Close() })
	return ix
}

func post(slug, title, body string) search.Document {
	return search.Document{ID: search.PostID("test", slug), Type: search.TypePost, Blog: "test", Slug: slug, Title: title, Body: body}
}

func pos(n uint64) events.Position { return events.Position{Commit: n, Prepare: n} }

func apply(t *testing.T, ix search.Index, docs ...search.Document) {
	t.Helper()
	cp, err := ix.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, search.Batch{Upserts: docs, Checkpoint: pos(cp.Commit + 1)}); err != nil {
		t.Fatal(err)
	}
}

func find(t *testing.T, ix search.Index, q search.Query) search.Result {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 20
	}
	res, err := ix.Search(ctx, q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func slugs(res search.Result) []string {
	out := []string{}
	for _, h := range res.Hits {
		out = append(out, h.Slug)
	}
	return out
}

func filter(t *testing.T, s string) search.Expr {
	t.Helper()
	e, err := search.ParseFilter(s, search.FilterableFields)
	if err != nil {
		t.Fatalf("filter %q: %v", s, err)
	}
	return e
}

// expect checks that q finds exactly want, in any order.
func expect(t *testing.T, ix search.Index, q search.Query, want ...string) {
	t.Helper()
	got := slugs(find(t, ix, q))
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if w == nil {
		w = []string{}
	}
	if !slices.Equal(got, w) {
		t.Errorf("search %q filter %v: got %q, want %q", q.Q, q.Filter, got, w)
	}
}

// first checks that q ranks want first.
func first(t *testing.T, ix search.Index, q string, want string) {
	t.Helper()
	got := slugs(find(t, ix, search.Query{Q: q}))
	if len(got) == 0 || got[0] != want {
		t.Errorf("search %q ranks %q, want %s first", q, got, want)
	}
}

func testWrites(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix, post("a", "Garbage collection", "The collector runs concurrently."), post("b", "Scheduling", "Goroutines are scheduled."))
	if n, err := ix.Count(ctx); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	expect(t, ix, search.Query{Q: "collector"}, "a")
	// An upsert replaces the document as a whole.
	apply(t, ix, post("a", "Memory", "Allocation and freeing."))
	expect(t, ix, search.Query{Q: "collector"})
	expect(t, ix, search.Query{Q: "allocation"}, "a")
	if err := ix.Apply(ctx, search.Batch{Deletes: []string{search.PostID("test", "a"), search.PostID("test", "missing")}, Checkpoint: pos(10)}); err != nil {
		t.Fatal(err)
	}
	expect(t, ix, search.Query{Q: "allocation"})
	if n, _ := ix.Count(ctx); n != 1 {
		t.Errorf("Count after delete = %d, want 1", n)
	}
	// A document and its deletion in one batch: the deletion runs first,
	// so the batch's document stays. (The projector never sends both.)
	res := find(t, ix, search.Query{})
	if res.EstimatedTotalHits != 1 || len(res.Hits) != 1 || res.Hits[0].Title != "Scheduling" {
		t.Errorf("placeholder after delete = %+v", res)
	}
}

func testCheckpoint(t *testing.T, o Options) {
	seq++
	name := fmt.Sprintf("checkpoint-%d", seq)
	ix := o.Open(t, name)
	if cp, err := ix.Checkpoint(ctx); err != nil || !cp.IsStart() {
		t.Fatalf("a new index's checkpoint = %v, %v; want the start", cp, err)
	}
	if err := ix.Apply(ctx, search.Batch{Upserts: []search.Document{post("a", "One", "first")}, Checkpoint: pos(7)}); err != nil {
		t.Fatal(err)
	}
	// A batch with only a checkpoint (events that were filtered out).
	if err := ix.Apply(ctx, search.Batch{Checkpoint: events.Position{Commit: 9, Prepare: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(ctx, search.Query{Q: "first"}); err == nil {
		t.Error("a closed index answered a search")
	}
	ix = o.Open(t, name)
	defer ix.Close()
	cp, err := ix.Checkpoint(ctx)
	if err != nil || cp != (events.Position{Commit: 9, Prepare: 8}) {
		t.Errorf("checkpoint after reopening = %v, %v; want 9/8", cp, err)
	}
	expect(t, ix, search.Query{Q: "first"}, "a")
}

func dated(slug, title, body string, year int, tags ...string) search.Document {
	d := post(slug, title, body)
	d.Date = time.Date(year, 3, 1, 0, 0, 0, 0, time.UTC)
	d.Year = year
	d.Tags = tags
	return d
}

func library(t *testing.T, o Options) search.Index {
	ix := fresh(t, o)
	other := dated("z", "Elsewhere", "Generics elsewhere.", 2022, "generics")
	other.Blog, other.ID = "other", search.PostID("other", "z")
	apply(t, ix,
		dated("a", "Generics arrive", "Type parameters for Go.", 2022, "Generics", "language"),
		dated("b", "Faster builds", "The compiler got faster.", 2021, "compiler"),
		dated("c", "Fuzzing", "Fuzz tests find bugs.", 2021, "testing", "fuzzing"),
		dated("d", "Old news", "From long ago.", 2012),
		other,
	)
	return ix
}

func testPlaceholder(t *testing.T, o Options) {
	ix := library(t, o)
	res := find(t, ix, search.Query{})
	if res.EstimatedTotalHits != 5 || len(res.Hits) != 5 {
		t.Fatalf("placeholder: %d hits of %d, want 5", len(res.Hits), res.EstimatedTotalHits)
	}
	if d := res.Hits[0].Date; d.Year() != 2022 || res.Hits[len(res.Hits)-1].Slug != "d" {
		t.Errorf("placeholder order %q: want newest first", slugs(res))
	}
	expect(t, ix, search.Query{Filter: filter(t, "blog = test AND year < 2022")}, "b", "c", "d")
}

func testFilters(t *testing.T, o Options) {
	ix := library(t, o)
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`blog = "test"`, []string{"a", "b", "c", "d"}},
		{`blog = TEST`, []string{"a", "b", "c", "d"}}, // strings compare case-insensitively
		{`blog != test`, []string{"z"}},
		{`tags = generics`, []string{"a", "z"}},
		{`blog = test AND tags = generics`, []string{"a"}},
		{`tags = compiler OR tags = fuzzing`, []string{"b", "c"}},
		{`blog = test AND (tags = compiler OR year = 2012)`, []string{"b", "d"}},
		{`NOT blog = test`, []string{"z"}},
		{`blog = test AND NOT (year = 2021 OR tags = language)`, []string{"d"}},
		{`tags IN [testing, language]`, []string{"a", "c"}},
		{`blog = test AND tags NOT IN [testing, language]`, []string{"b", "d"}},
		{`year > 2021`, []string{"a", "z"}},
		{`year >= 2021 AND blog = test`, []string{"a", "b", "c"}},
		{`year < 2021`, []string{"d"}},
		{`year <= 2012`, []string{"d"}},
		{`year 2012 TO 2021`, []string{"b", "c", "d"}},
		{`year = 2021`, []string{"b", "c"}},
		{`year IN [2012, 2022] AND blog = test`, []string{"a", "d"}},
		{`tags EXISTS AND blog = test`, []string{"a", "b", "c"}},
		{`tags NOT EXISTS`, []string{"d"}},
		{`tags IS EMPTY`, []string{"d"}},
		{`slug = a OR slug = z`, []string{"a", "z"}},
		{`type = post AND slug = b`, []string{"b"}},
	} {
		expect(t, ix, search.Query{Filter: filter(t, c.filter)}, c.want...)
	}
	// A filter applies to text searches as well.
	expect(t, ix, search.Query{Q: "generics", Filter: filter(t, "blog = other")}, "z")
}

func testFacets(t *testing.T, o Options) {
	ix := library(t, o)
	res := find(t, ix, search.Query{Facets: []string{"tags", "year", "blog"}})
	want := map[string]map[string]int{
		"tags": {"Generics": 1, "generics": 1, "language": 1, "compiler": 1, "testing": 1, "fuzzing": 1},
		"year": {"2022": 2, "2021": 2, "2012": 1},
		"blog": {"test": 4, "other": 1},
	}
	for f, dist := range want {
		for v, n := range dist {
			if got := res.FacetDistribution[f][v]; got != n {
				t.Errorf("facet %s value %q: %d, want %d (all: %v)", f, v, got, n, res.FacetDistribution[f])
			}
		}
	}
	// Facets count the matching documents only.
	res = find(t, ix, search.Query{Q: "generics", Facets: []string{"blog"}})
	if got := res.FacetDistribution["blog"]; got["test"] != 1 || got["other"] != 1 || len(got) != 2 {
		t.Errorf("facets of a search: %v", got)
	}
}

func testHighlighting(t *testing.T, o Options) {
	ix := fresh(t, o)
	long := strings.Repeat("Filler words about nothing in particular. ", 60) +
		"Here the scheduler preempts goroutines. " + strings.Repeat("More filler text follows here. ", 60)
	d := post("a", "The <scheduler> & you", long)
	d.Summary = `A look at "scheduling" in Go`
	d.Authors = []string{"Ada Scheduler"}
	apply(t, ix, d, post("x", "<script>alert(1)</script>", "<b>bold</b> scheduler"))
	res := find(t, ix, search.Query{Q: "scheduler", CropLength: 10})
	var hit, evil *search.Hit
	for i := range res.Hits {
		switch res.Hits[i].Slug {
		case "a":
			hit = &res.Hits[i]
		case "x":
			evil = &res.Hits[i]
		}
	}
	if hit == nil || evil == nil {
		t.Fatalf("hits %q", slugs(res))
	}
	f := hit.Formatted
	if f.Title != "The &lt;<em>scheduler</em>&gt; &amp; you" {
		t.Errorf("_formatted.title = %q", f.Title)
	}
	if !strings.Contains(f.Body, "<em>scheduler</em>") || !strings.HasPrefix(f.Body, "…") || !strings.HasSuffix(f.Body, "…") {
		t.Errorf("_formatted.body = %q: want the match, cropped at both ends", f.Body)
	}
	if n := len(strings.Fields(f.Body)); n > 16 {
		t.Errorf("_formatted.body has %d words with cropLength 10: %q", n, f.Body)
	}
	if len(f.Authors) != 1 || f.Authors[0] != "Ada <em>Scheduler</em>" {
		t.Errorf("_formatted.authors = %q", f.Authors)
	}
	if hit.Title != "The <scheduler> & you" {
		t.Errorf("the plain title changed: %q", hit.Title)
	}
	if strings.Contains(evil.Formatted.Title, "<script>") || strings.Contains(evil.Formatted.Body, "<b>") {
		t.Errorf("markup from a document reached _formatted: %+v", evil.Formatted)
	}
	// Without a match in the body, the excerpt is its start.
	res = find(t, ix, search.Query{Q: "you", CropLength: 5})
	if len(res.Hits) != 1 || !strings.HasPrefix(res.Hits[0].Formatted.Body, "Filler words") {
		t.Errorf("excerpt without a body match: %+v", res.Hits)
	}
}

func testPagination(t *testing.T, o Options) {
	ix := fresh(t, o)
	var docs []search.Document
	for i := range 25 {
		docs = append(docs, post(fmt.Sprintf("p%02d", i), fmt.Sprintf("Page %d", i), strings.Repeat("paging ", i+1)))
	}
	apply(t, ix, docs...)
	all := slugs(find(t, ix, search.Query{Q: "paging", Limit: 25}))
	if len(all) != 25 {
		t.Fatalf("got %d of 25", len(all))
	}
	var paged []string
	for off := 0; off < 25; off += 10 {
		res := find(t, ix, search.Query{Q: "paging", Limit: 10, Offset: off})
		if res.EstimatedTotalHits != 25 {
			t.Errorf("estimatedTotalHits = %d, want 25", res.EstimatedTotalHits)
		}
		paged = append(paged, slugs(res)...)
	}
	if !slices.Equal(paged, all) {
		t.Errorf("pages %q differ from the whole %q", paged, all)
	}
	if res := find(t, ix, search.Query{Q: "paging", Limit: 10, Offset: 30}); len(res.Hits) != 0 || res.EstimatedTotalHits != 25 {
		t.Errorf("past the end: %d hits, total %d", len(res.Hits), res.EstimatedTotalHits)
	}
	res, err := ix.Search(ctx, search.Query{Q: "paging", Limit: 0})
	if err != nil || len(res.Hits) != 0 || res.EstimatedTotalHits != 25 {
		t.Errorf("limit 0: %d hits, total %d, %v", len(res.Hits), res.EstimatedTotalHits, err)
	}
}

func testTypos(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix,
		post("cat", "cat", "a cat"),
		post("river", "river", "the river"),
		post("tracking", "tracking", "issue tracking"),
		post("performance", "performance", "runtime performance"),
	)
	q := func(s string) search.Query { return search.Query{Q: s + " "} } // complete words: no prefix
	// Under 5 letters: no typo.
	expect(t, ix, q("cap"))
	expect(t, ix, q("cat"), "cat")
	// 5 to 8 letters: one typo, a transposition included.
	expect(t, ix, q("rivor"), "river")
	expect(t, ix, q("rivoe"))
	expect(t, ix, q("trakcing"), "tracking")
	expect(t, ix, q("trakcign"))
	// 9 and more: two.
	expect(t, ix, q("perfromanse"), "performance")
	expect(t, ix, q("prefromanse"))
}

func testPrefix(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix, post("ws", "WebSocket servers", "Serving websockets."), post("zh", "压力测试", "用工具做压力测试"))
	expect(t, ix, search.Query{Q: "WebSock"}, "ws")
	expect(t, ix, search.Query{Q: "servers WebSock"}, "ws")
	// Only the last word is a prefix, and not once a space ends it.
	expect(t, ix, search.Query{Q: "websock qqqq"})
	expect(t, ix, search.Query{Q: "websock "})
	expect(t, ix, search.Query{Q: "压力测"}, "zh")
}

func testChinese(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix,
		post("todo", "任务列表", "系统中的待处理任务"),
		post("tw", "資料庫連線", "使用資料庫連線池管理連線"),
		post("cn", "数据库", "简体中文的数据库连接说明"),
		post("mixed", "Go语言JSON处理", "用Go语言处理JSON数据"),
	)
	// Sub-words: 处理 finds 待处理.
	expect(t, ix, search.Query{Q: "处理 "}, "todo", "mixed")
	// Traditional text found by simplified queries, Taiwan words too.
	expect(t, ix, search.Query{Q: "数据库连接"}, "tw", "cn")
	// And the other way round.
	expect(t, ix, search.Query{Q: "資料庫"}, "tw", "cn")
	// Script boundaries split words: "json" and "go" are words of Go语言JSON处理.
	expect(t, ix, search.Query{Q: "json "}, "mixed")
	expect(t, ix, search.Query{Q: "语言"}, "mixed")
}

func testPinyin(t *testing.T, o Options) {
	ix := fresh(t, o)
	a := post("du", "云栖大会", "大会回顾")
	a.Authors = []string{"杜勇"}
	b := post("text", "杜勇的文章", "杜勇 writes here, but is not its author")
	b.Authors = []string{"Someone Else"}
	apply(t, ix, a, b)
	expect(t, ix, search.Query{Q: "duyong"}, "du")
	expect(t, ix, search.Query{Q: "dy "}, "du")
	expect(t, ix, search.Query{Q: "du yong"}, "du")
	// The characters find both.
	expect(t, ix, search.Query{Q: "杜勇"}, "du", "text")
}

func testRanking(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix,
		// attribute: the title beats the body
		post("title", "Channels", "An introduction."),
		post("body", "An introduction", "Channels are pipes between goroutines, and channels again."),
		// words: more matched words first
		post("both", "Escape analysis", "How escape analysis decides about the heap."),
		post("one", "Analysis", "Static analysis of programs, analysis of code, analysis."),
		// typos: an exact match beats a typo
		post("exact", "Modules", "Versioned modules."),
		post("typo", "Modulus", "The modulus operator."),
		// proximity: words together beat words apart
		post("near", "Notes", "Notes on garbage collector pacing."),
		post("far", "Notes", "Garbage is what we make. Then, much later, a collector may come."),
	)
	first(t, ix, "channels", "title")
	first(t, ix, "escape analysis", "both")
	first(t, ix, "modules", "exact")
	first(t, ix, "garbage collector", "near")

	t.Run("engine", func(t *testing.T) {
		if o.SkipEngineRanking {
			t.Skip("our engine's own ranking choices")
		}
		ix := fresh(t, o)
		// A sentence: the short post about the topic beats the long one
		// that merely has every word, which a strict words rule would put
		// first.
		var filler strings.Builder
		for range 200 {
			filler.WriteString("unrelated text about tooling and releases. ")
		}
		docs := []search.Document{
			post("talk", "Concurrency is not parallelism", "A talk on concurrency and parallelism."),
			post("long", "Release notes", filler.String()+" concurrency. "+filler.String()+" difference. "+filler.String()+" parallelism."),
		}
		// "difference" is a common word, as it is in any real archive.
		for i := range 10 {
			docs = append(docs, post(fmt.Sprintf("d%d", i), "Other", "The difference is small."))
		}
		apply(t, ix, docs...)
		first(t, ix, "what is the difference between concurrency and parallelism", "talk")
	})
}

func testBadInput(t *testing.T, o Options) {
	ix := fresh(t, o)
	apply(t, ix, post("bad", "Bad \xff\xfe bytes", "text with \x00 nul and \xc3 broken utf-8, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, and emoji 😀"))
	for _, q := range []string{
		strings.Repeat("很长的查询", 2000),
		strings.Repeat("word ", 2000),
		"\xff\xfe",
		"😀",
		"((( ]]] \"\" '' *:* AND OR NOT",
		"",
		strings.Repeat("a", 300),
	} {
		if _, err := ix.Search(ctx, search.Query{Q: q, Limit: 5}); err != nil {
			t.Errorf("search %.30q: %v", q, err)
		}
	}
	expect(t, ix, search.Query{Q: "emoji"}, "bad")
}

// Startups, developers, contest entries and collections: the fields of
// each type.

func startup(member, zh, en, city, industry, tier string, founded int, description string) search.Document {
	d := search.Document{
		ID: search.StartupID(member), Type: search.TypeStartup, MemberID: member,
		NameZH: zh, NameEN: en, Name: zh, City: city, Industry: industry, Tier: tier,
		FoundedYear: founded, Body: description, JoinedOn: "2013-10-24",
	}
	if d.Name == "" {
		d.Name = en
	}
	return d
}

func developer(user, name, city string, skills ...string) search.Document {
	return search.Document{ID: search.DeveloperID(user), Type: search.TypeDeveloper, UserID: user, Name: name, City: city, Skills: skills}
}

func entry(contest, team, title, summary, track, award string, year int, authors ...string) search.Document {
	return search.Document{
		ID: search.SubmissionID(contest, team), Type: search.TypeSubmission, Contest: contest, TeamID: team,
		Title: title, Summary: summary, Body: summary, Track: track, Award: award, Year: year, Authors: authors,
		Date: time.Date(year, 10, 23, 12, 0, 0, 0, time.UTC),
	}
}

func collection(id, title, titleEN, subtitle, body string, edition int, authors ...string) search.Document {
	return search.Document{
		ID: search.CollectionID(id), Type: search.TypeCollection, Collection: id, Edition: edition,
		URL: "/blog/collections/" + id + "/", Title: title, TitleEN: titleEN, Summary: subtitle, Body: body, Authors: authors,
		Date: time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC), Year: 2021,
	}
}

// ids lists the hits' document ids.
func ids(res search.Result) []string {
	out := []string{}
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

// expectIDs checks that q finds exactly the documents want, in any order.
func expectIDs(t *testing.T, ix search.Index, q search.Query, want ...string) {
	t.Helper()
	got := ids(find(t, ix, q))
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if w == nil {
		w = []string{}
	}
	if !slices.Equal(got, w) {
		t.Errorf("search %q filter %v: got %q, want %q", q.Q, q.Filter, got, w)
	}
}

func directory(t *testing.T, o Options) search.Index {
	ix := fresh(t, o)
	apply(t, ix,
		startup("cnblogs", "博客园", "cnblogs", "杭州", "开发者社区", "founding", 2004, "面向开发者的中文技术博客社区。"),
		startup("oschina", "开源中国", "OSChina", "深圳", "开发者社区", "founding", 2008, "中文开源技术社区。"),
		startup("teamcola", "", "TeamCola", "", "团队协作软件", "founding", 0, "团队协作与任务管理软件。"),
		startup("newco", "云上新创", "Cloud Newco", "杭州", "云计算", "member", 2020, "提到博客园的一家新公司。"),
		developer("u1", "杜勇", "杭州", "Go", "Kubernetes"),
		developer("u2", "Ada Lovelace", "London", "Go"),
		entry("yunqi-2013", "t1", "城市交通大脑", "用数据疏导城市交通。", "smart-city", "gold", 2013, "王小明"),
		entry("yunqi-2013", "t2", "Open Data Portal", "An open data portal.", "open-data", "finalist", 2013),
		entry("yunqi-2015", "t3", "农田物联网", "传感器监测农田。", "iot", "silver", 2015),
		post("blog", "博客园的故事", "一篇文章"),
		collection("gowebbook", "Go Web 编程", "Build Web Application with Golang", "从零开始的网站开发", "写给想用 Go 写网站的人。\nGo 环境配置\n表单处理", 2, "谢孟军", "Astaxie"),
	)
	return ix
}

func testTypes(t *testing.T, o Options) {
	ix := directory(t, o)
	// Each type's key fields come back with its hits.
	res := find(t, ix, search.Query{Q: "博客园", Filter: filter(t, "type = startup")})
	var cn *search.Hit
	for i := range res.Hits {
		if res.Hits[i].MemberID == "cnblogs" {
			cn = &res.Hits[i]
		}
	}
	if cn == nil {
		t.Fatalf("博客园 among startups: %q", ids(res))
	}
	if ids(res)[0] != search.StartupID("cnblogs") {
		t.Errorf("the startup named 博客园 is not first: %q", ids(res))
	}
	if cn.Type != search.TypeStartup || cn.Name != "博客园" || cn.NameEN != "cnblogs" || cn.Tier != "founding" ||
		cn.City != "杭州" || cn.FoundedYear != 2004 || cn.JoinedOn != "2013-10-24" {
		t.Errorf("startup hit %+v", cn.Document)
	}
	if cn.Formatted.Name != "<em>博客园</em>" || cn.Formatted.NameZH != "<em>博客园</em>" || cn.Formatted.NameEN != "cnblogs" {
		t.Errorf("startup _formatted names %q %q %q", cn.Formatted.Name, cn.Formatted.NameZH, cn.Formatted.NameEN)
	}
	// English names, and words of the description.
	expectIDs(t, ix, search.Query{Q: "teamcola"}, search.StartupID("teamcola"))
	expectIDs(t, ix, search.Query{Q: "OSChina", Filter: filter(t, "type = startup")}, search.StartupID("oschina"))
	expectIDs(t, ix, search.Query{Q: "任务管理"}, search.StartupID("teamcola"))
	// Developers by name and by skill; entries by title, author and text.
	expectIDs(t, ix, search.Query{Q: "lovelace"}, search.DeveloperID("u2"))
	expectIDs(t, ix, search.Query{Q: "kubernetes"}, search.DeveloperID("u1"))
	expectIDs(t, ix, search.Query{Q: "交通大脑"}, search.SubmissionID("yunqi-2013", "t1"))
	expectIDs(t, ix, search.Query{Q: "王小明"}, search.SubmissionID("yunqi-2013", "t1"))
	expectIDs(t, ix, search.Query{Q: "portal", Filter: filter(t, "type = submission")}, search.SubmissionID("yunqi-2013", "t2"))
	// Collections by their title, their English title, subtitle and
	// chapters; the English title is highlighted on its own.
	for _, q := range []string{"golang", "网站开发", "环境配置", "Web 编程"} {
		expectIDs(t, ix, search.Query{Q: q, Filter: filter(t, "type = collection")}, search.CollectionID("gowebbook"))
	}
	expectIDs(t, ix, search.Query{Q: "golang"}, search.CollectionID("gowebbook"))
	res = find(t, ix, search.Query{Q: "golang"})
	if len(res.Hits) == 1 {
		h := res.Hits[0]
		if h.Type != search.TypeCollection || h.Collection != "gowebbook" || h.Edition != 2 || h.URL != "/blog/collections/gowebbook/" ||
			h.Title != "Go Web 编程" || h.TitleEN != "Build Web Application with Golang" || h.Summary != "从零开始的网站开发" || len(h.Authors) != 2 {
			t.Errorf("collection hit %+v", h.Document)
		}
		if h.Formatted.TitleEN != "Build Web Application with <em>Golang</em>" || h.Formatted.Title != "Go Web 编程" {
			t.Errorf("collection _formatted titles %q %q", h.Formatted.Title, h.Formatted.TitleEN)
		}
	}
	// A placeholder search over one type lists it whole.
	if res := find(t, ix, search.Query{Filter: filter(t, "type = startup"), Limit: 50}); res.EstimatedTotalHits != 4 || len(res.Hits) != 4 {
		t.Errorf("placeholder over startups: %q of %d", ids(res), res.EstimatedTotalHits)
	}
	if res := find(t, ix, search.Query{Filter: filter(t, "type = collection"), Limit: 50}); res.EstimatedTotalHits != 1 {
		t.Errorf("placeholder over collections: %q of %d", ids(res), res.EstimatedTotalHits)
	}
	if res := find(t, ix, search.Query{Limit: 50}); res.EstimatedTotalHits != 11 {
		t.Errorf("placeholder over every type: %d, want 11", res.EstimatedTotalHits)
	}
}

func testNamePinyin(t *testing.T, o Options) {
	ix := directory(t, o)
	// Pinyin, full and initials, finds names: not the same characters in
	// a description or a post title.
	for _, q := range []string{"bokeyuan", "boke", "bky"} {
		expectIDs(t, ix, search.Query{Q: q}, search.StartupID("cnblogs"))
	}
	expectIDs(t, ix, search.Query{Q: "kyzg"}, search.StartupID("oschina"))
	expectIDs(t, ix, search.Query{Q: "duyong"}, search.DeveloperID("u1"))
	expectIDs(t, ix, search.Query{Q: "wangxiaoming"}, search.SubmissionID("yunqi-2013", "t1"))
	// The characters find the name, the description and the post alike.
	expectIDs(t, ix, search.Query{Q: "博客园"}, search.StartupID("cnblogs"), search.StartupID("newco"), search.PostID("test", "blog"))
}

func testTypeFacets(t *testing.T, o Options) {
	ix := directory(t, o)
	s := search.StartupID
	sub := search.SubmissionID
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`tier = "founding"`, []string{s("cnblogs"), s("oschina"), s("teamcola")}},
		{`tier = member`, []string{s("newco")}},
		{`type = startup AND city = 杭州`, []string{s("cnblogs"), s("newco")}},
		{`city = 杭州`, []string{s("cnblogs"), s("newco"), search.DeveloperID("u1")}},
		{`industry = "开发者社区"`, []string{s("cnblogs"), s("oschina")}},
		{`founded_year >= 2005`, []string{s("oschina"), s("newco")}},
		{`founded_year EXISTS AND tier = founding`, []string{s("cnblogs"), s("oschina")}},
		{`skills = go`, []string{search.DeveloperID("u1"), search.DeveloperID("u2")}},
		{`skills = Kubernetes`, []string{search.DeveloperID("u1")}},
		{`contest = "yunqi-2013"`, []string{sub("yunqi-2013", "t1"), sub("yunqi-2013", "t2")}},
		{`track = iot`, []string{sub("yunqi-2015", "t3")}},
		{`award = finalist`, []string{sub("yunqi-2013", "t2")}},
		{`award IN [gold, silver]`, []string{sub("yunqi-2013", "t1"), sub("yunqi-2015", "t3")}},
		{`type = submission AND year = 2015`, []string{sub("yunqi-2015", "t3")}},
		{`type = submission AND year 2013 TO 2014`, []string{sub("yunqi-2013", "t1"), sub("yunqi-2013", "t2")}},
	} {
		expectIDs(t, ix, search.Query{Filter: filter(t, c.filter), Limit: 50}, c.want...)
	}
	res := find(t, ix, search.Query{Facets: []string{"type", "tier", "city", "industry", "founded_year", "skills", "contest", "track", "award", "year"}})
	want := map[string]map[string]int{
		"type":         {"startup": 4, "developer": 2, "submission": 3, "post": 1, "collection": 1},
		"tier":         {"founding": 3, "member": 1},
		"city":         {"杭州": 3, "深圳": 1, "London": 1},
		"industry":     {"开发者社区": 2, "团队协作软件": 1, "云计算": 1},
		"founded_year": {"2004": 1, "2008": 1, "2020": 1},
		"skills":       {"Go": 2, "Kubernetes": 1},
		"contest":      {"yunqi-2013": 2, "yunqi-2015": 1},
		"track":        {"smart-city": 1, "open-data": 1, "iot": 1},
		"award":        {"gold": 1, "finalist": 1, "silver": 1},
		"year":         {"2013": 2, "2015": 1},
	}
	for f, dist := range want {
		for v, n := range dist {
			if got := res.FacetDistribution[f][v]; got != n {
				t.Errorf("facet %s value %q: %d, want %d (all: %v)", f, v, got, n, res.FacetDistribution[f])
			}
		}
	}
	if n := len(res.FacetDistribution["founded_year"]); n != 3 {
		t.Errorf("founded_year facet %v: a year of 0 (not stated) must not count", res.FacetDistribution["founded_year"])
	}
}
