package meiliindex

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/meiliindex/meilitest"
)

var bg = context.Background()

func TestUnreachableAtStart(t *testing.T) {
	srv := meilitest.New(t, testKey)
	url := srv.URL
	srv.Close()
	_, err := Connect(bg, Config{URL: url, APIKey: testKey})
	if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Connect to a dead server: %v; want an error naming %s", err, url)
	}
}

func TestWrongKey(t *testing.T) {
	srv := meilitest.New(t, testKey)
	c, err := Connect(bg, Config{URL: srv.URL, APIKey: "wrong"})
	if err != nil {
		t.Fatal(err) // /health needs no key
	}
	defer c.Close()
	if _, err := c.Open(bg, "x"); err == nil || !strings.Contains(err.Error(), "invalid_api_key") {
		t.Errorf("Open with a wrong key: %v", err)
	}
}

func doc(slug, title string) search.Document {
	return search.Document{ID: search.PostID("b", slug), Type: search.TypePost, Blog: "b", Slug: slug, Title: title}
}

func TestFailedTaskIsRetried(t *testing.T) {
	srv, c := standIn(t)
	ix, err := c.Open(bg, "retry")
	if err != nil {
		t.Fatal(err)
	}
	srv.FailTasks(2) // fewer than Attempts (4)
	if err := ix.Apply(bg, search.Batch{Upserts: []search.Document{doc("a", "Retried")}, Checkpoint: events.Position{Commit: 3, Prepare: 3}}); err != nil {
		t.Fatalf("Apply after two failed tasks: %v", err)
	}
	if cp, _ := ix.Checkpoint(bg); cp.Commit != 3 {
		t.Errorf("checkpoint %v, want 3", cp)
	}
	if res, _ := ix.Search(bg, search.Query{Q: "retried", Limit: 5}); len(res.Hits) != 1 {
		t.Errorf("the retried document is missing: %+v", res)
	}
}

func TestFailedTaskIsSurfaced(t *testing.T) {
	srv, c := standIn(t)
	ix, err := c.Open(bg, "fail")
	if err != nil {
		t.Fatal(err)
	}
	srv.FailTasks(100)
	err = ix.Apply(bg, search.Batch{Upserts: []search.Document{doc("a", "Lost")}, Deletes: []string{search.PostID("b", "z")}, Checkpoint: events.Position{Commit: 5, Prepare: 5}})
	var te *TaskError
	if !errors.As(err, &te) || te.Code != "internal" || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("Apply with every task failing: %v", err)
	}
	srv.FailTasks(0)
	if cp, _ := ix.Checkpoint(bg); !cp.IsStart() {
		t.Errorf("the checkpoint moved past a failed batch: %v", cp)
	}
}

func TestRebuildSwapsIndexes(t *testing.T) {
	_, c := standIn(t)
	live, err := c.Open(bg, "live")
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Apply(bg, search.Batch{Upserts: []search.Document{doc("old", "Old generation")}, Checkpoint: events.Position{Commit: 1, Prepare: 1}}); err != nil {
		t.Fatal(err)
	}
	next, err := c.Staging(bg, "live")
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Apply(bg, search.Batch{Upserts: []search.Document{doc("new", "New generation")}, Checkpoint: events.Position{Commit: 2, Prepare: 2}}); err != nil {
		t.Fatal(err)
	}
	// The live index answers from the old documents until the swap.
	if res, _ := live.Search(bg, search.Query{Q: "generation", Limit: 5}); len(res.Hits) != 1 || res.Hits[0].Slug != "old" {
		t.Fatalf("before the swap: %+v", res.Hits)
	}
	if err := c.Promote(bg, live, next); err != nil {
		t.Fatal(err)
	}
	if res, _ := live.Search(bg, search.Query{Q: "generation", Limit: 5}); len(res.Hits) != 1 || res.Hits[0].Slug != "new" {
		t.Errorf("after the swap: %+v", res.Hits)
	}
	if cp, _ := live.Checkpoint(bg); cp.Commit != 2 {
		t.Errorf("checkpoint after the swap: %v", cp)
	}
	if _, err := c.meli.GetIndex(bg, "live"+stagingSuffix); !isCode(err, "index_not_found") {
		t.Errorf("the old generation was not deleted: %v", err)
	}
}

func TestTenantToken(t *testing.T) {
	_, c := standIn(t)
	ix, err := c.Open(bg, "tenant")
	if err != nil {
		t.Fatal(err)
	}
	f, err := search.ParseFilter(`type = startup`, search.FilterableFields)
	if err != nil {
		t.Fatal(err)
	}
	const searchKey, keyUID = "search-key-secret-0123456789", "76cf8b87-fd12-4688-ad34-260d930ca4f4"
	exp := time.Now().Add(time.Hour)
	tok, err := ix.TenantToken(searchKey, keyUID, f, exp)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(searchKey), nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("token does not verify with the search key: %v", err)
	}
	rules, _ := claims["searchRules"].(map[string]any)
	rule, _ := rules["tenant"].(map[string]any)
	if claims["apiKeyUid"] != keyUID || rule["filter"] != `type != "yunqi_checkpoint" AND (type = "startup")` {
		t.Errorf("claims %v", claims)
	}
	if _, err := ix.TenantToken(searchKey, keyUID, f, time.Time{}); err == nil {
		t.Error("a token without expiry was signed")
	}
}

func TestDocumentFields(t *testing.T) {
	d := search.Document{ID: "startup:x", Type: search.TypeStartup, Name: "資料庫連線", NameZH: "資料庫連線", Body: "待处理\uE000x"}
	w := toWire(d)
	if w.PK != primaryKey("startup:x") || !docIDPattern(w.PK) || w.DocID != "startup:x" {
		t.Errorf("ids %q %q", w.PK, w.DocID)
	}
	if !strings.HasPrefix(w.ZhName, "数据库 连接") || !strings.Contains(w.ZhBody, "处理") || w.PyName == "" {
		t.Errorf("hidden fields %+v", w)
	}
	if strings.Contains(w.Body, "\uE000") {
		t.Error("a highlight marker survived in the body")
	}
	if got := foldQuery("資料庫 go "); got != "数据库 go " {
		t.Errorf("foldQuery = %q", got)
	}
}

func docIDPattern(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return len(s) > 0 && len(s) <= 511
}
