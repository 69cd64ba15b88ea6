package blog

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// markdownFixtures are small archives' files, one per case the importer
// must handle.
var markdownFixtures = map[string]string{
	"front.md": `---
title: Go 1.22 is released!
date: 2024-02-06
by:
- Eli Bendersky, on behalf of the Go team
- Russ Cox
tags:
- release
summary: Go 1.22 enhances for loops.
template: true
---

Today the Go team is thrilled to release Go 1.22.

{{code "loop.go" ` + "`/START/`" + `}}
`,
	"authors.md": "---\ntitle: \"Yunqi: a town\"\ndate: 2024-4-09\nauthors: 杜勇, Ada\ntags: cloud, 杭州\ndescription: A town near West Lake.\n---\nBody.\n",
	"zoned.md":   "---\ntitle: Zoned\ndate: 2020-11-10T12:01:00Z\nby: Russ Cox\n---\ntext\n",
	"plain.md":   "Some words first.\n\n# 9.4 避免SQL注入\n\n正文。\n",
	"fenced.md":  "```\n# not a title\n```\n\n# The Title #\n\ntext\n",
	"SUMMARY.md": "* [Go环境配置](01.0.md)\n\t* [Go安装](01.1.md)\n",
	"README.md":  "This directory holds articles.\nSee the docs.\n",
	"redirect.md": `---
redirect: /blog/io2013-chat
---
`,
	"draft.md":     "---\ntitle: Not yet\ndraft: true\n---\nsoon\n",
	"hidden.md":    "---\ntitle: Not yet\npublished: false\n---\nsoon\n",
	"broken.md":    "---\ntitle: [unclosed\ndate: 2024-01-01\n---\nbody\n",
	"unclosed.md":  "---\ntitle: Never closed\n\nbody\n",
	"baddate.md":   "---\ntitle: When?\ndate: next tuesday\n---\nbody\n",
	"notamap.md":   "---\n- a\n- b\n---\nbody\n",
	"toml.md":      "+++\ntitle = \"x\"\n+++\nbody\n",
	"latin1.md":    "---\ntitle: Caf\xe9\n---\nna\xefve\n",
	"utf16.md":     "\xff\xfe#\x00 \x00T\x00",
	"script.md":    "# Safe\n\n<script>alert('x')</script>\n\n<img src=x onerror=\"alert(1)\">\n\n[click](javascript:alert(1))\n",
	"crlf.md":      "---\r\ntitle: Windows\r\n---\r\n\r\nline one\r\nline two\r\n",
	"my post.md":   "# Spaces\n",
	"image.png":    "\x89PNG",
	"sub/plain.md": "# Another plain\n",
	".git/x.md":    "# hidden\n",
}

func TestImportMarkdownFolder(t *testing.T) {
	store := openStore(t)
	dir := writeFiles(t, markdownFixtures)
	// A 50 MB post, sparse so that the test writes nothing: the importer
	// must refuse it by its size, without reading it.
	huge := filepath.Join(dir, "huge.md")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 50<<20); err != nil {
		t.Fatal(err)
	}
	var progress []Progress
	sum, err := ImportFiles(t.Context(), store, []string{dir}, ImportOptions{Blog: "fixtures", Actor: "cli:test",
		Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]struct{ result, reason string }{
		"front":    {ResultImported, ""},
		"authors":  {ResultImported, ""},
		"zoned":    {ResultImported, ""},
		"plain":    {ResultImported, ""},
		"fenced":   {ResultImported, ""},
		"SUMMARY":  {ResultImported, ""},
		"script":   {ResultImported, ""},
		"crlf":     {ResultImported, ""},
		"README":   {ResultSkipped, "README without a title"},
		"redirect": {ResultSkipped, "redirect stub (to /blog/io2013-chat)"},
		"draft":    {ResultSkipped, "a draft (draft: true"},
		"hidden":   {ResultSkipped, "published: false"},
		"broken":   {ResultSkipped, "broken front matter"},
		"unclosed": {ResultSkipped, "no closing --- line"},
		"baddate":  {ResultSkipped, `date must be a date such as 2024-02-06`},
		"notamap":  {ResultSkipped, "not a list of key: value lines"},
		"toml":     {ResultSkipped, "TOML front matter"},
		"latin1":   {ResultSkipped, "not valid UTF-8 (byte 0xE9 at offset 14, line 2)"},
		"utf16":    {ResultSkipped, "UTF-16"},
		"huge":     {ResultSkipped, "50.0 MiB, above the limit of 960 KiB"},
		"my post":  {ResultSkipped, "may not contain spaces"},
	}
	for slug, w := range want {
		o := outcomeOf(t, sum, slug)
		if o.Result != w.result || !strings.Contains(o.Reason, w.reason) {
			t.Errorf("%s: %s %q, want %s containing %q", slug, o.Result, o.Reason, w.result, w.reason)
		}
	}
	dup := outcomeOf(t, sum, "sub/plain.md")
	if dup.Result != ResultSkipped || !strings.Contains(dup.Reason, `duplicate slug "plain": plain.md has it already`) {
		t.Errorf("duplicate: %+v", dup)
	}
	if sum.Imported != 8 || sum.Skipped != 14 || sum.Revised != 0 || sum.Unchanged != 0 || sum.Ignored != 1 {
		t.Errorf("summary counts = %d imported, %d skipped, %d ignored; want 8, 14, 1", sum.Imported, sum.Skipped, sum.Ignored)
	}
	if len(progress) == 0 || progress[len(progress)-1].Done != progress[len(progress)-1].Total {
		t.Errorf("progress did not reach its total: %+v", progress)
	}

	posts := map[string]events.PostImported{}
	for _, e := range allEvents(t, store) {
		p, err := events.Types.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		imp := p.(events.PostImported)
		posts[imp.Slug] = imp
		if e.Stream != events.PostStream("fixtures", imp.Slug) || e.Metadata.Visibility != events.Public || e.Metadata.Actor != "cli:test" {
			t.Errorf("event %s: stream %s, metadata %+v", e.Type, e.Stream, e.Metadata)
		}
	}
	front := posts["front"]
	if front.Title != "Go 1.22 is released!" || !slices.Equal(front.Authors, []string{"Eli Bendersky, on behalf of the Go team", "Russ Cox"}) ||
		!front.Date.Equal(time.Date(2024, 2, 6, 0, 0, 0, 0, time.UTC)) || !slices.Equal(front.Tags, []string{"release"}) ||
		front.Summary != "Go 1.22 enhances for loops." || front.Source != "front.md" || front.ContentHash != ContentHash(front.PostContent) {
		t.Errorf("front = %+v", front)
	}
	if !strings.Contains(front.Body, `{{code "loop.go" `) || strings.Contains(front.Body, "title:") {
		t.Errorf("the body must be the text after the front matter, directives kept: %q", front.Body)
	}
	a := posts["authors"]
	if a.Title != "Yunqi: a town" || !slices.Equal(a.Authors, []string{"杜勇", "Ada"}) || !slices.Equal(a.Tags, []string{"cloud", "杭州"}) ||
		a.Summary != "A town near West Lake." || !a.Date.Equal(time.Date(2024, 4, 9, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("authors = %+v", a)
	}
	if z := posts["zoned"]; !z.Date.Equal(time.Date(2020, 11, 10, 12, 1, 0, 0, time.UTC)) || !slices.Equal(z.Authors, []string{"Russ Cox"}) {
		t.Errorf("zoned = %+v", z)
	}
	for slug, title := range map[string]string{"plain": "9.4 避免SQL注入", "fenced": "The Title", "SUMMARY": "SUMMARY", "crlf": "Windows"} {
		if got := posts[slug].Title; got != title {
			t.Errorf("%s: title %q, want %q", slug, got, title)
		}
	}
	if strings.Contains(posts["crlf"].Body, "\r") {
		t.Errorf("crlf body keeps CR: %q", posts["crlf"].Body)
	}
	if !strings.Contains(posts["script"].Body, "<script>") {
		t.Errorf("the stored body must be as written; rendering sanitises: %q", posts["script"].Body)
	}
}

func TestReimportIsIdempotent(t *testing.T) {
	store := openStore(t)
	files := map[string]string{
		"a.md": "---\ntitle: A\n---\none\n",
		"b.md": "---\ntitle: B\n---\ntwo\n",
		"c.md": "---\ntitle: C\n---\nthree\n",
	}
	dir := writeFiles(t, files)
	run := func(paths ...string) Summary {
		t.Helper()
		sum, err := ImportFiles(t.Context(), store, paths, ImportOptions{Blog: "b"})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	first := run(dir)
	if first.Imported != 3 {
		t.Fatalf("first import: %+v", first)
	}
	before := allEvents(t, store)

	// The same files from another place (a copy) are the same posts.
	again := run(writeFiles(t, files))
	if again.Unchanged != 3 || again.Imported+again.Revised+again.Skipped != 0 {
		t.Fatalf("re-import: %+v", again)
	}
	if n := len(allEvents(t, store)); n != len(before) {
		t.Fatalf("re-import wrote %d events", n-len(before))
	}

	// One changed, one gone: a revision of the one, the other left alone.
	os.WriteFile(filepath.Join(dir, "b.md"), []byte("---\ntitle: B\n---\ntwo, revised\n"), 0o644)
	os.Remove(filepath.Join(dir, "c.md"))
	changed := run(dir)
	if changed.Revised != 1 || changed.Unchanged != 1 || outcomeOf(t, changed, "b").Result != ResultRevised {
		t.Fatalf("changed: %+v", changed)
	}
	after := allEvents(t, store)
	if len(after) != len(before)+1 || after[len(after)-1].Type != "blog.PostRevised" || after[len(after)-1].Revision != 1 {
		t.Fatalf("after the change: %d events, last %+v", len(after), after[len(after)-1])
	}
	if _, err := store.ReadStream(t.Context(), events.PostStream("b", "c"), events.ReadOptions{}); err != nil {
		t.Fatalf("the post missing from the folder must stay: %v", err)
	}

	// Back to the first text: a new revision with ids of its own, which
	// the store's durable dedup must not mistake for the import.
	os.WriteFile(filepath.Join(dir, "b.md"), []byte(files["b.md"]), 0o644)
	if back := run(dir); back.Revised != 1 {
		t.Fatalf("back to the first text: %+v", back)
	}

	// A withdrawn post stays withdrawn.
	w, _ := events.Types.New(events.PostWithdrawn{Blog: "b", Slug: "a", Reason: "test"}, events.Metadata{Visibility: events.Public})
	if _, err := store.Append(t.Context(), events.PostStream("b", "a"), events.Exact(0), w); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.md"), []byte("---\ntitle: A\n---\nchanged\n"), 0o644)
	if o := outcomeOf(t, run(dir), "a"); o.Result != ResultSkipped || !strings.Contains(o.Reason, "withdrawn") {
		t.Fatalf("withdrawn post: %+v", o)
	}
}

// A retried import (its answer lost) and two imports at once write each
// post once: the event ids are the same for the same post, revision and
// content.
func TestImportEventIDsAreDeterministic(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.md": "# A\n", "b.md": "# B\n", "c.md": "# C\n", "d.md": "# D\n"})
	ids := func(store events.Store) []string {
		var out []string
		for _, e := range allEvents(t, store) {
			out = append(out, e.Stream+" "+e.ID.String())
		}
		slices.Sort(out)
		return out
	}
	one, two := openStore(t), openStore(t)
	for _, st := range []events.Store{one, two} {
		if _, err := ImportFiles(t.Context(), st, []string{dir}, ImportOptions{Blog: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := ids(one), ids(two); !slices.Equal(a, b) {
		t.Fatalf("two imports of the same folder made different ids:\n%v\n%v", a, b)
	}

	shared := openStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := ImportFiles(context.Background(), shared, []string{dir}, ImportOptions{Blog: "b", Workers: 2})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(shared); !slices.Equal(got, ids(one)) {
		t.Fatalf("concurrent imports wrote %d events, want one per post:\n%v", len(got), got)
	}
}

func TestImportRefusesWhatTheStoreCannotTake(t *testing.T) {
	store := openStore(t)
	// Under the file limit, but JSON writes each < as \u003c: six bytes.
	body := "# Brackets\n\n" + strings.Repeat("<", 400<<10)
	sum, err := Import(t.Context(), store, []Input{{Name: "brackets.md", Data: []byte(body)}}, ImportOptions{Blog: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, sum, "brackets"); o.Result != ResultSkipped || !strings.Contains(o.Reason, "above the event store's limit") {
		t.Fatalf("outcome = %+v", o)
	}
	if _, err := Import(t.Context(), store, nil, ImportOptions{Blog: "Bad.Name"}); !errors.Is(err, ErrInvalidPost) {
		t.Fatalf("bad blog name: %v", err)
	}
}

func TestImportZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"archive/", ""},
		{"archive/one.md", "# One\n"},
		{"archive/two.md", "---\ntitle: Two\n---\n"},
		{"archive/more/one.md", "# One again\n"},
		{"__MACOSX/archive/._one.md", "junk"},
		{"archive/cover.png", "png"},
	} {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	zw.Close()
	store := openStore(t)
	sum, err := Import(t.Context(), store, []Input{{Name: "posts.zip", Data: buf.Bytes()}, {Name: "junk.zip", Data: []byte("PK not really")}},
		ImportOptions{Blog: "z"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 2 || sum.Skipped != 2 || sum.Ignored != 2 {
		t.Fatalf("summary = %+v", sum)
	}
	if o := outcomeOf(t, sum, "posts.zip:archive/more/one.md"); !strings.Contains(o.Reason, "duplicate slug") {
		t.Errorf("duplicate in zip: %+v", o)
	}
	if o := outcomeOf(t, sum, "junk.zip"); !strings.Contains(o.Reason, "not a zip archive") {
		t.Errorf("junk zip: %+v", o)
	}
}

const rssFixture = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>博客园 - 杜勇</title>
<link>https://www.cnblogs.com/duyong/</link>
<item>
  <title>磁盘IO抖动的排查</title>
  <link>https://www.cnblogs.com/duyong/p/3456789.html</link>
  <dc:creator>杜勇</dc:creator>
  <pubDate>Thu, 24 Oct 2013 11:00:00 GMT</pubDate>
  <guid>https://www.cnblogs.com/duyong/p/3456789.html</guid>
  <category>云计算</category>
  <description><![CDATA[<p>迁移到云上以后，<b>磁盘IO</b>抖动。</p><script>alert(1)</script>]]></description>
</item>
<item>
  <title>memcached 停顿</title>
  <link>https://www.cnblogs.com/duyong/p/3456790.html</link>
  <pubDate>Fri, 25 Oct 2013 09:30:00 +0800</pubDate>
  <description><![CDATA[<p>第二篇。</p>]]></description>
</item>
<item>
  <title>Same link again</title>
  <link>https://www.cnblogs.com/duyong/p/3456790.html</link>
  <description>dup</description>
</item>
</channel>
</rss>`

const atomFixture = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Progress</title>
  <id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2014-05-01T00:00:00Z</updated>
  <entry>
    <title>Database write time-outs</title>
    <link href="https://progress.example.com/2014/05/db-timeouts/"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <published>2014-05-01T08:00:00+08:00</published>
    <updated>2014-05-02T08:00:00+08:00</updated>
    <author><name>Ada</name></author>
    <category term="database"/>
    <summary>Why writes timed out.</summary>
    <content type="html">&lt;p&gt;Writes timed out &lt;a href="javascript:alert(1)"&gt;here&lt;/a&gt;.&lt;/p&gt;</content>
  </entry>
</feed>`

const wxrFixture = `<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>Yunqi notes</title>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:author><wp:author_login><![CDATA[wang]]></wp:author_login><wp:author_display_name><![CDATA[王坚]]></wp:author_display_name></wp:author>
	<item>
		<title>云栖小镇</title>
		<link>https://notes.example.com/2013/10/yunqi/</link>
		<pubDate>Thu, 24 Oct 2013 11:00:00 +0000</pubDate>
		<dc:creator><![CDATA[wang]]></dc:creator>
		<content:encoded><![CDATA[First paragraph&nbsp;here.
Second line.

Second paragraph.]]></content:encoded>
		<excerpt:encoded><![CDATA[<em>Short</em> excerpt.]]></excerpt:encoded>
		<wp:post_date_gmt><![CDATA[2013-10-24 11:00:00]]></wp:post_date_gmt>
		<wp:post_name><![CDATA[%e4%ba%91%e6%a0%96]]></wp:post_name>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
		<category domain="category" nicename="town"><![CDATA[Town]]></category>
		<category domain="post_tag" nicename="hangzhou"><![CDATA[杭州]]></category>
	</item>
	<item>
		<title>Unfinished</title>
		<wp:post_date_gmt>0000-00-00 00:00:00</wp:post_date_gmt>
		<wp:post_name>unfinished</wp:post_name>
		<wp:status>draft</wp:status>
		<wp:post_type>post</wp:post_type>
	</item>
	<item>
		<title>About</title>
		<wp:post_name>about</wp:post_name>
		<wp:status>publish</wp:status>
		<wp:post_type>page</wp:post_type>
	</item>
	<item>
		<title>photo.jpg</title>
		<wp:post_type>attachment</wp:post_type>
	</item>
</channel>
</rss>`

func TestImportFeeds(t *testing.T) {
	store := openStore(t)
	dir := writeFiles(t, map[string]string{
		"cnblogs.xml": rssFixture,
		"atom.xml":    atomFixture,
		"wp.xml":      wxrFixture,
		"notes.txt":   "This is not a feed at all.",
		"page.html":   "<html><body>Hello</body></html>",
		"empty.xml":   `<rss version="2.0"><channel><title>x</title></channel></rss>`,
		"gbk.xml":     "<rss><channel><item><title>\xd4\xc6</title></item></channel></rss>",
	})
	var paths []string
	for _, n := range []string{"cnblogs.xml", "atom.xml", "wp.xml", "notes.txt", "page.html", "empty.xml", "gbk.xml"} {
		paths = append(paths, filepath.Join(dir, n))
	}
	sum, err := ImportFiles(t.Context(), store, paths, ImportOptions{Blog: "feeds"})
	if err != nil {
		t.Fatal(err)
	}
	for source, reason := range map[string]string{
		"notes.txt": "is not a feed: an RSS 2.0, Atom or WordPress export is XML and starts with '<', this file starts with \"This is not a feed at all.\"",
		"page.html": "XML but not a feed",
		"empty.xml": "a feed without items",
		"gbk.xml":   "not valid UTF-8",
	} {
		if o := outcomeOf(t, sum, source); o.Result != ResultSkipped || !strings.Contains(o.Reason, reason) {
			t.Errorf("%s: %+v, want reason %q", source, o, reason)
		}
	}
	for slug, reason := range map[string]string{
		"unfinished": `a draft (WordPress status "draft")`,
		"about":      "a WordPress page",
	} {
		if o := outcomeOf(t, sum, slug); o.Result != ResultSkipped || !strings.Contains(o.Reason, reason) {
			t.Errorf("%s: %+v, want reason %q", slug, o, reason)
		}
	}
	if o := outcomeOf(t, sum, "https://www.cnblogs.com/duyong/p/3456790.html"); o.Result != ResultImported {
		t.Errorf("first of two items with one link: %+v", o)
	}
	var dup int
	for _, o := range sum.Posts {
		if strings.Contains(o.Reason, `duplicate slug "3456790"`) {
			dup++
		}
	}
	if dup != 1 {
		t.Errorf("the second item with the same link must be skipped as a duplicate: %+v", sum.Posts)
	}
	if sum.Imported != 4 || sum.Ignored != 1 {
		t.Errorf("summary: %d imported, %d ignored; want 4, 1: %+v", sum.Imported, sum.Ignored, sum.Posts)
	}

	posts := map[string]events.PostContent{}
	for _, e := range allEvents(t, store) {
		p, _ := events.Types.Decode(e)
		imp := p.(events.PostImported)
		posts[imp.Slug] = imp.PostContent
	}
	rss := posts["3456789"]
	if rss.Title != "磁盘IO抖动的排查" || !slices.Equal(rss.Authors, []string{"杜勇"}) || !slices.Equal(rss.Tags, []string{"云计算"}) ||
		!rss.Date.Equal(time.Date(2013, 10, 24, 11, 0, 0, 0, time.UTC)) || rss.Format != events.FormatHTML ||
		rss.Source != "https://www.cnblogs.com/duyong/p/3456789.html" || !strings.Contains(rss.Body, "<b>磁盘IO</b>") {
		t.Errorf("rss item = %+v", rss)
	}
	atom := posts["db-timeouts"]
	if atom.Title != "Database write time-outs" || !slices.Equal(atom.Authors, []string{"Ada"}) || atom.Summary != "Why writes timed out." ||
		!atom.Date.Equal(time.Date(2014, 5, 1, 0, 0, 0, 0, time.UTC)) || !slices.Equal(atom.Tags, []string{"database"}) {
		t.Errorf("atom entry = %+v", atom)
	}
	if strings.Contains(string(RenderHTML(atom)), "javascript:") {
		t.Errorf("a javascript: link survived: %s", RenderHTML(atom))
	}
	wp := posts["云栖"]
	if wp.Title != "云栖小镇" || !slices.Equal(wp.Authors, []string{"王坚"}) || !slices.Equal(wp.Tags, []string{"Town", "杭州"}) ||
		wp.Summary != "Short excerpt." || !wp.Date.Equal(time.Date(2013, 10, 24, 11, 0, 0, 0, time.UTC)) ||
		!strings.Contains(wp.Body, "<p>First paragraph&nbsp;here.<br>\nSecond line.</p>") || !strings.Contains(wp.Body, "<p>Second paragraph.</p>") {
		t.Errorf("wxr item = %+v", wp)
	}
	if h := string(RenderHTML(rss)); strings.Contains(h, "<script") || strings.Contains(h, "alert") {
		t.Errorf("script in a feed item survived rendering: %s", h)
	}
}

func TestFeedSlugs(t *testing.T) {
	for _, tc := range []struct{ link, guid, title, want string }{
		{"https://www.cnblogs.com/duyong/p/3456789.html", "", "", "3456789"},
		{"https://example.com/2014/05/db-timeouts/", "", "", "db-timeouts"},
		{"https://example.com/posts/index.html", "", "", "posts"},
		{"https://example.com/?p=42", "", "", "p-42"},
		{"", "urn:uuid:1225c695", "", "uuid-1225c695"},
		{"", "tag:example.com,2014:42", "", "example.com-2014-42"},
		{"", "", "Hello, World! 你好", "hello-world-你好"},
		{"", "", "", "post-"},
	} {
		if got := feedSlug(tc.link, tc.guid, tc.title); !strings.HasPrefix(got, tc.want) || ValidateSlug(got) != nil {
			t.Errorf("feedSlug(%q, %q, %q) = %q, want %q", tc.link, tc.guid, tc.title, got, tc.want)
		}
	}
}

// A file that is no post does not take its slug from a later one that is.
func TestDuplicateSlugsGoToTheFirstPost(t *testing.T) {
	store := openStore(t)
	sum, err := Import(t.Context(), store, []Input{
		{Name: "goblog/README.md", Data: []byte("Notes about the folder.\n")},
		{Name: "book/README.md", Data: []byte("# Go Web 编程\n")},
		{Name: "other/README.md", Data: []byte("# Another front page\n")},
	}, ImportOptions{Blog: "b", Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ result, reason string }{
		{ResultSkipped, "README without a title"},
		{ResultImported, ""},
		{ResultSkipped, `duplicate slug "README": book/README.md has it already`},
	}
	for i, w := range want {
		if o := sum.Posts[i]; o.Result != w.result || !strings.Contains(o.Reason, w.reason) {
			t.Errorf("%s: %s %q, want %s %q", o.Source, o.Result, o.Reason, w.result, w.reason)
		}
	}
}
