// Package meilitest is an in-memory stand-in for a Meilisearch server,
// served by httptest, for testing the meiliindex adapter where no server
// can run. It follows Meilisearch's documented API for the routes the
// adapter uses: it checks every request (method, path, the Authorization:
// Bearer key, Content-Type, JSON bodies with no unknown fields) and
// answers with the documented shapes: tasks enqueued with 202 and read at
// /tasks/{uid}, errors as {message, code, type, link}.
//
// Search is an approximation, good enough for the conformance suite's
// cases that follow Meilisearch's documented rules, not a model of its
// engine:
//   - Words are runs of letters and digits, lowercased; every Han
//     character is a word of its own, and a query's run of Han characters
//     matches the same characters at consecutive positions. Meilisearch
//     segments Chinese with jieba instead, so this finds sub-words (处理 in
//     待处理) that Meilisearch may not; the adapter indexes sub-words
//     itself for that reason. Nothing is folded: traditional Chinese
//     matches only what the adapter folds.
//   - Typos are counted as Damerau-Levenshtein distance (a transposition
//     is one), allowed by the index's minWordSizeForTypos and
//     disableOnAttributes; a typo on the first letter is not counted
//     double as Meilisearch may, and prefixes match without typos.
//   - Ranking applies the index's rankingRules in order with simple
//     measures: words (leading query words matched, as matchingStrategy
//     "last" drops words from the end), typo (sum of typos), proximity
//     (distance between consecutive query words in one attribute, 8 at
//     most; ., !, ? and their Chinese forms count as 8), attribute (sum of
//     the best attribute rank of each word), sort, exactness (words
//     matched exactly); ties keep insertion order.
//   - Filters are parsed with services/search's parser of Meilisearch's
//     syntax, taking numeric fields from search.FilterableFields where
//     Meilisearch looks at each value's type.
//   - Facet values are counted as written; Meilisearch groups values that
//     differ only in case under one spelling.
//   - Cropping centres the window on the first match in the attribute.
package meilitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a running stand-in.
type Server struct {
	URL string
	Key string // the master key every request must carry

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	indexes  map[string]*index
	tasks    []*task
	failNext int

	searchNanos atomic.Int64
	searches    atomic.Int64
}

type index struct {
	uid        string
	primaryKey string
	createdAt  time.Time
	docs       map[string]map[string]any
	order      []string // insertion order: Meilisearch's internal ids break ties
	settings   settings
}

type settings struct {
	RankingRules        []string
	Searchable          []string
	Displayed           []string
	Filterable          []string
	Sortable            []string
	OneTypo, TwoTypos   int
	TyposEnabled        bool
	DisableOnAttributes []string
}

func defaultSettings() settings {
	return settings{
		RankingRules: []string{"words", "typo", "proximity", "attribute", "sort", "exactness"},
		Searchable:   []string{"*"}, Displayed: []string{"*"},
		OneTypo: 5, TwoTypos: 9, TyposEnabled: true,
	}
}

type apiError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Type    string `json:"type"`
	Link    string `json:"link"`
}

type task struct {
	UID        int64          `json:"uid"`
	IndexUID   *string        `json:"indexUid"`
	Status     string         `json:"status"`
	Type       string         `json:"type"`
	Details    map[string]any `json:"details"`
	Error      *apiError      `json:"error"`
	Duration   string         `json:"duration"`
	EnqueuedAt time.Time      `json:"enqueuedAt"`
	StartedAt  time.Time      `json:"startedAt"`
	FinishedAt time.Time      `json:"finishedAt"`
}

// New starts a stand-in whose master key is key, closed with the test.
// A request the adapter should never make (an unknown route, a body that
// is not the documented JSON) fails t as well as getting Meilisearch's
// error answer.
func New(t testing.TB, key string) *Server {
	s := &Server{Key: key, t: t, indexes: map[string]*index{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "available"})
	})
	mux.HandleFunc("POST /indexes", s.createIndex)
	mux.HandleFunc("GET /indexes/{uid}", s.getIndex)
	mux.HandleFunc("DELETE /indexes/{uid}", s.deleteIndex)
	mux.HandleFunc("PATCH /indexes/{uid}/settings", s.updateSettings)
	mux.HandleFunc("POST /indexes/{uid}/documents", s.addDocuments)
	mux.HandleFunc("POST /indexes/{uid}/documents/delete-batch", s.deleteDocuments)
	mux.HandleFunc("GET /indexes/{uid}/documents/{id}", s.getDocument)
	mux.HandleFunc("GET /indexes/{uid}/stats", s.stats)
	mux.HandleFunc("POST /indexes/{uid}/search", s.search)
	mux.HandleFunc("GET /tasks/{uid}", s.getTask)
	mux.HandleFunc("POST /swap-indexes", s.swap)
	s.srv = httptest.NewServer(s.check(mux))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server early (to test an unreachable one).
func (s *Server) Close() { s.srv.Close() }

// FailTasks makes the next n document tasks (additions and deletions)
// fail as Meilisearch reports an internal error.
func (s *Server) FailTasks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// SearchTime is the time spent handling search requests, and how many.
func (s *Server) SearchTime() (time.Duration, int64) {
	return time.Duration(s.searchNanos.Load()), s.searches.Load()
}

// check enforces what every request must carry, as Meilisearch does.
func (s *Server) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" && s.Key != "" {
			auth := r.Header.Get("Authorization")
			if auth == "" {
				writeError(w, 401, "The Authorization header is missing. It must use the bearer authorization method.", "missing_authorization_header", "auth")
				return
			}
			if auth != "Bearer "+s.Key {
				writeError(w, 403, "The provided API key is invalid.", "invalid_api_key", "auth")
				return
			}
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				s.t.Errorf("meilitest: %s %s with Content-Type %q", r.Method, r.URL.Path, ct)
				writeError(w, 415, fmt.Sprintf("The Content-Type `%s` is invalid. Accepted values for the Content-Type header are: `application/json`", ct), "invalid_content_type", "invalid_request")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, code, typ string) {
	writeJSON(w, status, apiError{Message: msg, Code: code, Type: typ, Link: "https://docs.meilisearch.com/errors#" + code})
}

// decode reads a JSON body strictly: Meilisearch rejects unknown fields.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.t.Errorf("meilitest: %s %s: body: %v", r.Method, r.URL.Path, err)
		writeError(w, 400, err.Error(), "bad_request", "invalid_request")
		return false
	}
	return true
}

var uidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,400}$`)
var docIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,511}$`)

// enqueue records a task and runs it at once: callers see it enqueued
// and, at /tasks/{uid}, finished, as with a fast server.
func (s *Server) enqueue(w http.ResponseWriter, uid *string, typ string, details map[string]any, run func() *apiError) {
	s.mu.Lock()
	t := &task{UID: int64(len(s.tasks)), IndexUID: uid, Type: typ, Details: details, EnqueuedAt: time.Now().UTC()}
	s.tasks = append(s.tasks, t)
	t.StartedAt = time.Now().UTC()
	if (typ == "documentAdditionOrUpdate" || typ == "documentDeletion") && s.failNext > 0 {
		s.failNext--
		t.Error = &apiError{Message: "injected failure", Code: "internal", Type: "internal", Link: "https://docs.meilisearch.com/errors#internal"}
	} else {
		t.Error = run()
	}
	t.Status = "succeeded"
	if t.Error != nil {
		t.Status = "failed"
	}
	t.FinishedAt = time.Now().UTC()
	t.Duration = "PT0.001S"
	s.mu.Unlock()
	writeJSON(w, 202, map[string]any{"taskUid": t.UID, "indexUid": uid, "status": "enqueued", "type": typ, "enqueuedAt": t.EnqueuedAt})
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	if _, err := fmt.Sscan(r.PathValue("uid"), &n); err != nil || n < 0 || n >= len(s.tasks) {
		writeError(w, 404, "Task `"+r.PathValue("uid")+"` not found.", "task_not_found", "invalid_request")
		return
	}
	writeJSON(w, 200, s.tasks[n])
}

func notFound(uid string) *apiError {
	return &apiError{Message: "Index `" + uid + "` not found.", Code: "index_not_found", Type: "invalid_request", Link: "https://docs.meilisearch.com/errors#index_not_found"}
}

func (s *Server) newIndex(uid, pk string) *index {
	ix := &index{uid: uid, primaryKey: pk, createdAt: time.Now().UTC(), docs: map[string]map[string]any{}, settings: defaultSettings()}
	s.indexes[uid] = ix
	return ix
}

func (s *Server) createIndex(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UID        string `json:"uid"`
		PrimaryKey string `json:"primaryKey"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	if !uidRE.MatchString(body.UID) {
		writeError(w, 400, "`"+body.UID+"` is not a valid index uid.", "invalid_index_uid", "invalid_request")
		return
	}
	s.enqueue(w, &body.UID, "indexCreation", map[string]any{"primaryKey": body.PrimaryKey}, func() *apiError {
		if s.indexes[body.UID] != nil {
			return &apiError{Message: "Index `" + body.UID + "` already exists.", Code: "index_already_exists", Type: "invalid_request"}
		}
		s.newIndex(body.UID, body.PrimaryKey)
		return nil
	})
}

func (s *Server) getIndex(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indexes[r.PathValue("uid")]
	if ix == nil {
		writeJSON(w, 404, notFound(r.PathValue("uid")))
		return
	}
	writeJSON(w, 200, map[string]any{"uid": ix.uid, "primaryKey": ix.primaryKey, "createdAt": ix.createdAt, "updatedAt": ix.createdAt})
}

func (s *Server) deleteIndex(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	s.enqueue(w, &uid, "indexDeletion", map[string]any{}, func() *apiError {
		if s.indexes[uid] == nil {
			return notFound(uid)
		}
		delete(s.indexes, uid)
		return nil
	})
}

func (s *Server) swap(w http.ResponseWriter, r *http.Request) {
	var body []struct {
		Indexes []string `json:"indexes"`
		Rename  bool     `json:"rename"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	s.enqueue(w, nil, "indexSwap", map[string]any{"swaps": body}, func() *apiError {
		for _, sw := range body {
			if len(sw.Indexes) != 2 {
				return &apiError{Message: "two indexes per swap", Code: "invalid_swap_indexes", Type: "invalid_request"}
			}
			a, b := s.indexes[sw.Indexes[0]], s.indexes[sw.Indexes[1]]
			if b == nil || (a == nil && !sw.Rename) {
				missing := sw.Indexes[1]
				if a == nil {
					missing = sw.Indexes[0]
				}
				return notFound(missing)
			}
		}
		for _, sw := range body {
			a, b := s.indexes[sw.Indexes[0]], s.indexes[sw.Indexes[1]]
			if a == nil {
				delete(s.indexes, sw.Indexes[1])
			} else {
				a.uid, s.indexes[sw.Indexes[1]] = sw.Indexes[1], a
			}
			b.uid, s.indexes[sw.Indexes[0]] = sw.Indexes[0], b
		}
		return nil
	})
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) {
	// The documented settings object; the adapter sends a subset.
	var body struct {
		RankingRules         []string        `json:"rankingRules"`
		SearchableAttributes []string        `json:"searchableAttributes"`
		DisplayedAttributes  []string        `json:"displayedAttributes"`
		FilterableAttributes []string        `json:"filterableAttributes"`
		SortableAttributes   []string        `json:"sortableAttributes"`
		DistinctAttribute    *string         `json:"distinctAttribute"`
		StopWords            []string        `json:"stopWords"`
		Synonyms             json.RawMessage `json:"synonyms"`
		Dictionary           []string        `json:"dictionary"`
		SeparatorTokens      []string        `json:"separatorTokens"`
		NonSeparatorTokens   []string        `json:"nonSeparatorTokens"`
		ProximityPrecision   string          `json:"proximityPrecision"`
		SearchCutoffMs       *int            `json:"searchCutoffMs"`
		PrefixSearch         *string         `json:"prefixSearch"`
		FacetSearch          *bool           `json:"facetSearch"`
		TypoTolerance        *struct {
			Enabled             bool `json:"enabled"`
			MinWordSizeForTypos struct {
				OneTypo  int `json:"oneTypo"`
				TwoTypos int `json:"twoTypos"`
			} `json:"minWordSizeForTypos"`
			DisableOnWords      []string `json:"disableOnWords"`
			DisableOnAttributes []string `json:"disableOnAttributes"`
			DisableOnNumbers    bool     `json:"disableOnNumbers"`
		} `json:"typoTolerance"`
		Pagination *struct {
			MaxTotalHits int `json:"maxTotalHits"`
		} `json:"pagination"`
		Faceting *struct {
			MaxValuesPerFacet int             `json:"maxValuesPerFacet"`
			SortFacetValuesBy json.RawMessage `json:"sortFacetValuesBy"`
		} `json:"faceting"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	uid := r.PathValue("uid")
	known := []string{"words", "typo", "proximity", "attribute", "sort", "exactness"}
	for _, rule := range body.RankingRules {
		if !slices.Contains(known, rule) && !strings.HasSuffix(rule, ":asc") && !strings.HasSuffix(rule, ":desc") {
			writeError(w, 400, "`"+rule+"` ranking rule is invalid.", "invalid_settings_ranking_rules", "invalid_request")
			return
		}
	}
	if tt := body.TypoTolerance; tt != nil && tt.MinWordSizeForTypos.OneTypo > tt.MinWordSizeForTypos.TwoTypos {
		writeError(w, 400, "`minWordSizeForTypos.oneTypo` must be less than or equal to `twoTypos`.", "invalid_settings_typo_tolerance", "invalid_request")
		return
	}
	s.enqueue(w, &uid, "settingsUpdate", map[string]any{}, func() *apiError {
		ix := s.indexes[uid]
		if ix == nil {
			ix = s.newIndex(uid, "")
		}
		st := &ix.settings
		if body.RankingRules != nil {
			st.RankingRules = body.RankingRules
		}
		if body.SearchableAttributes != nil {
			st.Searchable = body.SearchableAttributes
		}
		if body.DisplayedAttributes != nil {
			st.Displayed = body.DisplayedAttributes
		}
		if body.FilterableAttributes != nil {
			st.Filterable = body.FilterableAttributes
		}
		if body.SortableAttributes != nil {
			st.Sortable = body.SortableAttributes
		}
		if tt := body.TypoTolerance; tt != nil {
			st.TyposEnabled, st.OneTypo, st.TwoTypos = tt.Enabled, tt.MinWordSizeForTypos.OneTypo, tt.MinWordSizeForTypos.TwoTypos
			st.DisableOnAttributes = tt.DisableOnAttributes
		}
		return nil
	})
}

func (s *Server) addDocuments(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	pk := r.URL.Query().Get("primaryKey")
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, err.Error(), "bad_request", "invalid_request")
		return
	}
	var docs []map[string]any
	if err := json.Unmarshal(data, &docs); err != nil {
		s.t.Errorf("meilitest: documents: %v", err)
		writeError(w, 400, "The provided payload is not a JSON array of objects: "+err.Error(), "malformed_payload", "invalid_request")
		return
	}
	s.enqueue(w, &uid, "documentAdditionOrUpdate", map[string]any{"receivedDocuments": len(docs)}, func() *apiError {
		ix := s.indexes[uid]
		if ix == nil {
			ix = s.newIndex(uid, pk)
		}
		if ix.primaryKey == "" {
			ix.primaryKey = pk
		}
		if pk != "" && pk != ix.primaryKey {
			return &apiError{Message: "Index already has a primary key: `" + ix.primaryKey + "`.", Code: "index_primary_key_already_exists", Type: "invalid_request"}
		}
		// One task is all or nothing: check every document first.
		for _, d := range docs {
			id, ok := d[ix.primaryKey].(string)
			if !ok || !docIDRE.MatchString(id) {
				return &apiError{Message: fmt.Sprintf("Document identifier `%v` is invalid.", d[ix.primaryKey]), Code: "invalid_document_id", Type: "invalid_request"}
			}
		}
		for _, d := range docs {
			id := d[ix.primaryKey].(string)
			if _, ok := ix.docs[id]; !ok {
				ix.order = append(ix.order, id)
			}
			ix.docs[id] = d
		}
		return nil
	})
}

func (s *Server) deleteDocuments(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	var ids []string
	if !s.decode(w, r, &ids) {
		return
	}
	s.enqueue(w, &uid, "documentDeletion", map[string]any{"providedIds": len(ids)}, func() *apiError {
		ix := s.indexes[uid]
		if ix == nil {
			return notFound(uid)
		}
		for _, id := range ids {
			if _, ok := ix.docs[id]; ok {
				delete(ix.docs, id)
				ix.order = slices.DeleteFunc(ix.order, func(x string) bool { return x == id })
			}
		}
		return nil
	})
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indexes[r.PathValue("uid")]
	if ix == nil {
		writeJSON(w, 404, notFound(r.PathValue("uid")))
		return
	}
	d, ok := ix.docs[r.PathValue("id")]
	if !ok {
		writeError(w, 404, "Document `"+r.PathValue("id")+"` not found.", "document_not_found", "invalid_request")
		return
	}
	writeJSON(w, 200, d)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indexes[r.PathValue("uid")]
	if ix == nil {
		writeJSON(w, 404, notFound(r.PathValue("uid")))
		return
	}
	dist := map[string]int{}
	for _, d := range ix.docs {
		for k := range d {
			dist[k]++
		}
	}
	writeJSON(w, 200, map[string]any{"numberOfDocuments": len(ix.docs), "isIndexing": false, "fieldDistribution": dist})
}

// searchRequest is the documented search body, the parameters the adapter
// may send; any other field is refused as Meilisearch refuses it.
type searchRequest struct {
	Q                     string          `json:"q"`
	Offset                *int            `json:"offset"`
	Limit                 *int            `json:"limit"`
	Filter                json.RawMessage `json:"filter"`
	Facets                []string        `json:"facets"`
	Sort                  []string        `json:"sort"`
	AttributesToRetrieve  []string        `json:"attributesToRetrieve"`
	AttributesToHighlight []string        `json:"attributesToHighlight"`
	HighlightPreTag       *string         `json:"highlightPreTag"`
	HighlightPostTag      *string         `json:"highlightPostTag"`
	AttributesToCrop      []string        `json:"attributesToCrop"`
	CropLength            *int            `json:"cropLength"`
	CropMarker            *string         `json:"cropMarker"`
	MatchingStrategy      string          `json:"matchingStrategy"`
	ShowRankingScore      bool            `json:"showRankingScore"`
	Hybrid                json.RawMessage `json:"hybrid"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		s.searchNanos.Add(int64(time.Since(start)))
		s.searches.Add(1)
	}()
	var req searchRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Hybrid) > 0 && string(req.Hybrid) != "null" {
		writeError(w, 400, "hybrid search needs an embedder", "invalid_search_hybrid_query", "invalid_request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indexes[r.PathValue("uid")]
	if ix == nil {
		writeJSON(w, 404, notFound(r.PathValue("uid")))
		return
	}
	res, apiErr := ix.search(req)
	if apiErr != nil {
		writeJSON(w, 400, apiErr)
		return
	}
	writeJSON(w, 200, res)
}

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Message: fmt.Sprintf(format, args...), Code: code, Type: "invalid_request", Link: "https://docs.meilisearch.com/errors#" + code}
}

// filterString accepts Meilisearch's two forms: a string, or an array
// whose elements are ANDed (an inner array ORed).
func filterString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("filter must be a string or an array")
	}
	var and []string
	for _, p := range parts {
		if json.Unmarshal(p, &s) == nil {
			and = append(and, "("+s+")")
			continue
		}
		var or []string
		if err := json.Unmarshal(p, &or); err != nil {
			return "", errors.New("filter array elements must be strings or arrays of strings")
		}
		and = append(and, "(("+strings.Join(or, ") OR (")+"))")
	}
	return strings.Join(and, " AND "), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
