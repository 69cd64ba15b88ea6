package meilitest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/services/search"
)

type token struct {
	norm       string
	start, end int // bytes in the text
	pos        int
	han        bool
}

// tokenize splits text as described in the package comment.
func tokenize(s string) []token {
	var out []token
	pos := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.Is(unicode.Han, r):
			pos++
			out = append(out, token{norm: s[i : i+n], start: i, end: i + n, pos: pos, han: true})
			i += n
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j := i
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if unicode.Is(unicode.Han, r2) || !(unicode.IsLetter(r2) || unicode.IsDigit(r2)) {
					break
				}
				j += n2
			}
			pos++
			out = append(out, token{norm: strings.ToLower(s[i:j]), start: i, end: j, pos: pos})
			i = j
		default:
			if strings.ContainsRune(".!?。！？", r) {
				pos += 7 // a hard separator: words across it are 8 apart
			}
			i += n
		}
	}
	return out
}

// unit is a query word: a Latin word, or a run of Han characters.
type unit struct {
	text   string
	han    []string
	prefix bool
}

func queryUnits(q string) []unit {
	toks := tokenize(q)
	var units []unit
	for i := 0; i < len(toks); i++ {
		if !toks[i].han {
			units = append(units, unit{text: toks[i].norm})
			continue
		}
		u := unit{}
		for ; i < len(toks) && toks[i].han && (len(u.han) == 0 || toks[i].pos == toks[i-1].pos+1); i++ {
			u.han = append(u.han, toks[i].norm)
		}
		i--
		u.text = strings.Join(u.han, "")
		units = append(units, u)
	}
	if len(units) > search.MaxQueryWords {
		units = units[:search.MaxQueryWords]
	} else if len(units) > 0 {
		last, _ := utf8.DecodeLastRuneInString(q)
		units[len(units)-1].prefix = !unicode.IsSpace(last)
	}
	return units
}

// match is one place a unit matched in a text.
type match struct {
	start, end int // bytes to highlight
	pos        int
	typos      int
	exact      bool
}

func (ix *index) allowed(word, attr string) int {
	st := ix.settings
	if !st.TyposEnabled || slices.Contains(st.DisableOnAttributes, attr) {
		return 0
	}
	n := utf8.RuneCountInString(word)
	switch {
	case n >= st.TwoTypos:
		return 2
	case n >= st.OneTypo:
		return 1
	}
	return 0
}

func (ix *index) matches(u unit, attr, text string, toks []token) []match {
	var out []match
	if u.han != nil {
		for i := range toks {
			if i+len(u.han) > len(toks) {
				break
			}
			ok := true
			for k, c := range u.han {
				t := toks[i+k]
				if !t.han || t.norm != c || (k > 0 && t.pos != toks[i+k-1].pos+1) {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, match{start: toks[i].start, end: toks[i+len(u.han)-1].end, pos: toks[i].pos, exact: true})
			}
		}
		return out
	}
	limit := ix.allowed(u.text, attr)
	for _, t := range toks {
		if t.han {
			continue
		}
		switch {
		case t.norm == u.text:
			out = append(out, match{start: t.start, end: t.end, pos: t.pos, exact: true})
		case u.prefix && strings.HasPrefix(t.norm, u.text):
			// Highlight the typed part only, counted in characters of the
			// original text (lowercasing can change byte lengths).
			end := t.start
			for range utf8.RuneCountInString(u.text) {
				_, n := utf8.DecodeRuneInString(text[end:])
				end += n
			}
			out = append(out, match{start: t.start, end: end, pos: t.pos})
		case limit > 0:
			if d := distance(u.text, t.norm, limit); d <= limit {
				out = append(out, match{start: t.start, end: t.end, pos: t.pos, typos: d})
			}
		}
	}
	return out
}

// distance is the optimal string alignment distance, or limit+1 once it
// is certainly above limit.
func distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// values are the texts of an attribute: a string, or the strings of an
// array.
func values(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (ix *index) searchable(d map[string]any) []string {
	if slices.Contains(ix.settings.Searchable, "*") {
		return sortedKeys(d)
	}
	return ix.settings.Searchable
}

// scored is a matching document and its measures for the ranking rules.
type scored struct {
	id                              string
	seq                             int
	words, typos, prox, attr, exact int
	doc                             map[string]any
}

func (ix *index) score(id string, seq int, d map[string]any, units []unit) (scored, bool) {
	sc := scored{id: id, seq: seq, doc: d}
	type hit struct {
		attr, value int
		pos         int
	}
	var places [][]hit
	for _, u := range units {
		best, bestTypos, bestAttr, exact := false, 99, 99, false
		var hs []hit
		for ai, attr := range ix.searchable(d) {
			for vi, v := range values(d[attr]) {
				for _, m := range ix.matches(u, attr, v, tokenize(v)) {
					best = true
					bestTypos = min(bestTypos, m.typos)
					bestAttr = min(bestAttr, ai)
					exact = exact || m.exact
					hs = append(hs, hit{ai, vi, m.pos})
				}
			}
		}
		if !best {
			break
		}
		sc.words++
		sc.typos += bestTypos
		sc.attr += bestAttr
		if exact {
			sc.exact++
		}
		places = append(places, hs)
	}
	if sc.words == 0 {
		return sc, false
	}
	for i := 1; i < len(places); i++ {
		d := 8
		for _, a := range places[i-1] {
			for _, b := range places[i] {
				if a.attr != b.attr || a.value != b.value {
					continue
				}
				gap := b.pos - a.pos
				if gap <= 0 {
					gap = -gap + 1
				}
				d = min(d, gap)
			}
		}
		sc.prox += d
	}
	return sc, true
}

func (ix *index) search(req searchRequest) (map[string]any, *apiError) {
	fs, err := filterString(req.Filter)
	if err != nil {
		return nil, badRequest("invalid_search_filter", "%v", err)
	}
	var expr search.Expr
	if fs != "" {
		fields := map[string]bool{}
		for _, f := range ix.settings.Filterable {
			fields[f] = search.FilterableFields[f]
		}
		if expr, err = search.ParseFilter(fs, fields); err != nil {
			return nil, badRequest("invalid_search_filter", "%v", err)
		}
	}
	for _, f := range req.Facets {
		if !slices.Contains(ix.settings.Filterable, f) {
			return nil, badRequest("invalid_search_facets", "Attribute `%s` is not filterable.", f)
		}
	}
	type sortBy struct {
		attr string
		desc bool
	}
	var sorts []sortBy
	for _, s := range req.Sort {
		attr, dir, ok := strings.Cut(s, ":")
		if !ok || (dir != "asc" && dir != "desc") {
			return nil, badRequest("invalid_search_sort", "Invalid syntax for the sort parameter: `%s`.", s)
		}
		if !slices.Contains(ix.settings.Sortable, attr) {
			return nil, badRequest("invalid_search_sort", "Attribute `%s` is not sortable.", attr)
		}
		sorts = append(sorts, sortBy{attr, dir == "desc"})
	}
	switch req.MatchingStrategy {
	case "", "last", "all", "frequency":
	default:
		return nil, badRequest("invalid_search_matching_strategy", "Unknown value `%s`", req.MatchingStrategy)
	}
	limit, offset := 20, 0
	if req.Limit != nil {
		limit = *req.Limit
	}
	if req.Offset != nil {
		offset = *req.Offset
	}
	if limit < 0 || offset < 0 {
		return nil, badRequest("invalid_search_limit", "limit and offset must be positive")
	}

	units := queryUnits(req.Q)
	var found []scored
	for seq, id := range ix.order {
		d := ix.docs[id]
		if expr != nil && !eval(expr, d) {
			continue
		}
		if len(units) == 0 {
			found = append(found, scored{id: id, seq: seq, doc: d})
			continue
		}
		sc, ok := ix.score(id, seq, d, units)
		if !ok || (req.MatchingStrategy == "all" && sc.words < len(units)) {
			continue
		}
		found = append(found, sc)
	}
	sortCmp := func(a, b scored) int {
		for _, s := range sorts {
			va, oka := a.doc[s.attr].(float64)
			vb, okb := b.doc[s.attr].(float64)
			switch {
			case oka && !okb:
				return -1
			case !oka && okb:
				return 1
			case oka && okb && va != vb:
				if s.desc {
					return cmp.Compare(vb, va)
				}
				return cmp.Compare(va, vb)
			}
		}
		return 0
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		for _, rule := range ix.settings.RankingRules {
			var c int
			switch rule {
			case "words":
				c = cmp.Compare(b.words, a.words)
			case "typo":
				c = cmp.Compare(a.typos, b.typos)
			case "proximity":
				c = cmp.Compare(a.prox, b.prox)
			case "attribute":
				c = cmp.Compare(a.attr, b.attr)
			case "sort":
				c = sortCmp(a, b)
			case "exactness":
				c = cmp.Compare(b.exact, a.exact)
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.seq, b.seq)
	})

	res := map[string]any{"query": req.Q, "processingTimeMs": 0, "limit": limit, "offset": offset, "estimatedTotalHits": len(found)}
	if req.Facets != nil {
		dist := map[string]map[string]int{}
		for _, f := range req.Facets {
			dist[f] = map[string]int{}
			for _, sc := range found {
				vs := []any{sc.doc[f]}
				if arr, ok := sc.doc[f].([]any); ok {
					vs = arr
				}
				seen := map[string]bool{}
				for _, v := range vs {
					var key string
					switch v := v.(type) {
					case string:
						key = v
					case float64:
						key = strconv.FormatFloat(v, 'f', -1, 64)
					case bool:
						key = strconv.FormatBool(v)
					default:
						continue
					}
					if !seen[key] {
						seen[key] = true
						dist[f][key]++
					}
				}
			}
		}
		res["facetDistribution"] = dist
		res["facetStats"] = map[string]any{}
	}
	hits := []map[string]any{}
	for i := offset; i < len(found) && i < offset+limit; i++ {
		hits = append(hits, ix.hit(found[i].doc, units, req))
	}
	res["hits"] = hits
	return res, nil
}

// hit is a document's displayed attributes and its _formatted form.
func (ix *index) hit(d map[string]any, units []unit, req searchRequest) map[string]any {
	out := map[string]any{}
	shown := ix.settings.Displayed
	if slices.Contains(shown, "*") {
		shown = sortedKeys(d)
	}
	pre, post, marker := "<em>", "</em>", "…"
	if req.HighlightPreTag != nil {
		pre = *req.HighlightPreTag
	}
	if req.HighlightPostTag != nil {
		post = *req.HighlightPostTag
	}
	if req.CropMarker != nil {
		marker = *req.CropMarker
	}
	crops := map[string]int{}
	for _, a := range req.AttributesToCrop {
		n := 10
		if req.CropLength != nil {
			n = *req.CropLength
		}
		if name, l, ok := strings.Cut(a, ":"); ok {
			a = name
			n, _ = strconv.Atoi(l)
		}
		crops[a] = n
	}
	highlight := func(a string) bool {
		return slices.Contains(req.AttributesToHighlight, a) || slices.Contains(req.AttributesToHighlight, "*")
	}
	formatted := map[string]any{}
	for _, a := range shown {
		v, ok := d[a]
		if !ok {
			continue
		}
		out[a] = v
		n, crop := crops[a]
		if !crop && !highlight(a) {
			formatted[a] = v
			continue
		}
		format := func(s string) string {
			toks := tokenize(s)
			var ms []match
			for _, u := range units {
				ms = append(ms, ix.matches(u, a, s, toks)...)
			}
			slices.SortFunc(ms, func(x, y match) int { return cmp.Compare(x.start, y.start) })
			from, to := 0, len(s)
			var before, after string
			if crop && len(toks) > n {
				first := 0
				if len(ms) > 0 {
					for i, t := range toks {
						if t.start == ms[0].start {
							first = i
						}
					}
				}
				lo := max(0, first-n/2)
				hi := min(len(toks), lo+n)
				lo = max(0, hi-n)
				from, to = toks[lo].start, toks[hi-1].end
				if lo > 0 {
					before = marker
				}
				if hi < len(toks) {
					after = marker
				}
			}
			var b strings.Builder
			b.WriteString(before)
			at := from
			for _, m := range ms {
				if m.start < at || m.end > to {
					continue
				}
				if !highlight(a) {
					break
				}
				b.WriteString(s[at:m.start])
				b.WriteString(pre + s[m.start:m.end] + post)
				at = m.end
			}
			b.WriteString(s[at:to])
			b.WriteString(after)
			return b.String()
		}
		switch v := v.(type) {
		case string:
			formatted[a] = format(v)
		case []any:
			arr := make([]any, len(v))
			for i, e := range v {
				if s, ok := e.(string); ok {
					arr[i] = format(s)
				} else {
					arr[i] = e
				}
			}
			formatted[a] = arr
		default:
			formatted[a] = fmt.Sprint(v)
		}
	}
	out["_formatted"] = formatted
	return out
}

// eval decides a parsed filter on a document.
func eval(e search.Expr, d map[string]any) bool {
	switch e := e.(type) {
	case search.And:
		for _, x := range e {
			if !eval(x, d) {
				return false
			}
		}
		return true
	case search.Or:
		for _, x := range e {
			if eval(x, d) {
				return true
			}
		}
		return false
	case search.Not:
		return !eval(e.X, d)
	case search.Cond:
		return evalCond(e, d)
	}
	return false
}

func evalCond(c search.Cond, d map[string]any) bool {
	v, present := d[c.Field]
	elems := []any{v}
	if arr, ok := v.([]any); ok {
		elems = arr
	}
	equal := func(i int) bool {
		for _, el := range elems {
			switch el := el.(type) {
			case string:
				if strings.EqualFold(el, c.Values[i]) {
					return true
				}
			case float64:
				if i < len(c.Numbers) && el == c.Numbers[i] {
					return true
				}
				if f, err := strconv.ParseFloat(c.Values[i], 64); err == nil && f == el {
					return true
				}
			}
		}
		return false
	}
	compare := func(ok func(float64) bool) bool {
		for _, el := range elems {
			if f, isNum := el.(float64); isNum && ok(f) {
				return true
			}
		}
		return false
	}
	num := func(i int) float64 {
		if i < len(c.Numbers) {
			return c.Numbers[i]
		}
		f, _ := strconv.ParseFloat(c.Values[i], 64)
		return f
	}
	switch c.Op {
	case search.OpEq:
		return equal(0)
	case search.OpNe:
		return !equal(0)
	case search.OpGt:
		return compare(func(f float64) bool { return f > num(0) })
	case search.OpGe:
		return compare(func(f float64) bool { return f >= num(0) })
	case search.OpLt:
		return compare(func(f float64) bool { return f < num(0) })
	case search.OpLe:
		return compare(func(f float64) bool { return f <= num(0) })
	case search.OpTo:
		return compare(func(f float64) bool { return f >= num(0) && f <= num(1) })
	case search.OpIn:
		for i := range c.Values {
			if equal(i) {
				return true
			}
		}
		return false
	case search.OpExists:
		return present
	case search.OpIsEmpty:
		switch v := v.(type) {
		case string:
			return v == ""
		case []any:
			return len(v) == 0
		case map[string]any:
			return len(v) == 0
		}
		return false
	case search.OpIsNull:
		return present && v == nil
	}
	return false
}
