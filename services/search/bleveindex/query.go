package bleveindex

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/vellum"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// qword is one word of a query with what may match it.
type qword struct {
	analysis.Word
	// prefix: the last word, still being typed, also matches the words it
	// begins ("WebSock" → websocket, 压力测 → 压力测试).
	prefix bool
	// typos allowed, by Meilisearch's rule on the word's length.
	typos int
	// idf is the word's inverse document frequency.
	idf float64
	// forms are the indexed terms it matches (see expand).
	forms []string
}

// Typo tolerance as Meilisearch's defaults: no typo in words under 5
// letters, one from 5, two from 9.
const (
	oneTypoFrom  = 5
	twoTyposFrom = 9
)

// minLatinPrefix is the shortest Latin word that matches as a prefix: one
// letter would expand to thousands of terms for little meaning, while a
// single Chinese character is already a word.
const minLatinPrefix = 2

func parseQuery(q string) []qword {
	ws := analysis.QueryWords(q)
	if len(ws) > search.MaxQueryWords {
		ws = ws[:search.MaxQueryWords]
	}
	// A query that ends with a space has its last word complete.
	last, _ := utf8.DecodeLastRuneInString(q)
	typing := !unicode.IsSpace(last)
	// Stop words go, unless nothing else is left, or the last one may
	// still be the start of another word ("the" of "theory").
	var kept []analysis.Word
	for i, w := range ws {
		if !analysis.IsStopWord(w.Term) || i == len(ws)-1 && typing {
			kept = append(kept, w)
		}
	}
	if len(kept) > 0 {
		ws = kept
	}
	out := make([]qword, len(ws))
	for i, w := range ws {
		qw := qword{Word: w}
		n := utf8.RuneCountInString(w.Term)
		if w.Kind == analysis.Latin {
			switch {
			case n >= twoTyposFrom:
				qw.typos = 2
			case n >= oneTypoFrom:
				qw.typos = 1
			}
		}
		if i == len(ws)-1 && typing && (w.Kind == analysis.CJK || n >= minLatinPrefix) {
			qw.prefix = true
		}
		out[i] = qw
	}
	return out
}

// filterQuery turns a parsed filter into a Bleve query.
func filterQuery(e search.Expr) (query.Query, error) {
	switch e := e.(type) {
	case search.And:
		qs := make([]query.Query, len(e))
		for i, p := range e {
			q, err := filterQuery(p)
			if err != nil {
				return nil, err
			}
			qs[i] = q
		}
		return bleve.NewConjunctionQuery(qs...), nil
	case search.Or:
		qs := make([]query.Query, len(e))
		for i, p := range e {
			q, err := filterQuery(p)
			if err != nil {
				return nil, err
			}
			qs[i] = q
		}
		return bleve.NewDisjunctionQuery(qs...), nil
	case search.Not:
		q, err := filterQuery(e.X)
		if err != nil {
			return nil, err
		}
		return not(q), nil
	case search.Cond:
		return condQuery(e)
	}
	return nil, fmt.Errorf("search index: unknown filter node %T", e)
}

func not(q query.Query) query.Query {
	b := bleve.NewBooleanQuery()
	b.AddMust(bleve.NewMatchAllQuery())
	b.AddMustNot(q)
	return b
}

func condQuery(c search.Cond) (query.Query, error) {
	kw := filterPrefix + c.Field
	eq := func(v string) query.Query {
		q := bleve.NewTermQuery(strings.ToLower(v))
		q.SetField(kw)
		return q
	}
	if len(c.Numbers) > 0 {
		// Numeric fields compare as numbers: year = 2020.0 is year = 2020.
		num := func(lo, hi *float64, loIn, hiIn bool) query.Query {
			q := bleve.NewNumericRangeInclusiveQuery(lo, hi, &loIn, &hiIn)
			q.SetField(c.Field)
			return q
		}
		v := c.Numbers
		switch c.Op {
		case search.OpEq:
			return num(&v[0], &v[0], true, true), nil
		case search.OpNe:
			return not(num(&v[0], &v[0], true, true)), nil
		case search.OpGt:
			return num(&v[0], nil, false, false), nil
		case search.OpGe:
			return num(&v[0], nil, true, false), nil
		case search.OpLt:
			return num(nil, &v[0], false, false), nil
		case search.OpLe:
			return num(nil, &v[0], false, true), nil
		case search.OpTo:
			return num(&v[0], &v[1], true, true), nil
		case search.OpIn:
			qs := make([]query.Query, len(v))
			for i := range v {
				qs[i] = num(&v[i], &v[i], true, true)
			}
			return anyOf(qs), nil
		}
	}
	switch c.Op {
	case search.OpEq:
		return eq(c.Values[0]), nil
	case search.OpNe:
		return not(eq(c.Values[0])), nil
	case search.OpIn:
		qs := make([]query.Query, len(c.Values))
		for i, v := range c.Values {
			qs[i] = eq(v)
		}
		return anyOf(qs), nil
	case search.OpExists:
		return exists(kw), nil
	case search.OpIsEmpty:
		// Empty values and empty lists are not indexed, so a field that
		// is present but empty reads as absent. Meilisearch tells them
		// apart; nothing we index can be null.
		return not(exists(kw)), nil
	case search.OpIsNull:
		return bleve.NewMatchNoneQuery(), nil
	}
	return nil, fmt.Errorf("search index: operator %d on %s is not supported", c.Op, c.Field)
}

func anyOf(qs []query.Query) query.Query {
	if len(qs) == 0 {
		return bleve.NewMatchNoneQuery()
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// exists matches documents with any term in a keyword field.
func exists(field string) query.Query {
	// Every indexed term sorts at or after "\x00".
	inc := true
	q := bleve.NewTermRangeInclusiveQuery("\x00", "", &inc, nil)
	q.SetField(field)
	return q
}

// Caps on the forms one word expands to, keeping a query's disjunction
// small: typo forms closest first, prefix forms most frequent first, and
// no more of these once their document counts add up to prefixWork times
// the documents (a word just begun, "in" or "th", would otherwise bring
// thirty of the commonest words, each to be read in every field by both
// passes; as Meilisearch bounds its derivations). Half the documents
// rather than all of them keeps 0.96 of the top ten of 2,000 distinct
// queries at 100,000 posts (the first hit in 0.957), and the short
// prefixes that set the slowest searches read half as much.
const (
	maxTypoForms   = 12
	maxPrefixForms = 30
	prefixWork     = 0.5
	// A prefix of shortPrefix letters or fewer ("go", "re", 数据)
	// begins hundreds of words: only its maxShortPrefixForms most
	// frequent are read, as Meilisearch caps a prefix's derivations.
	shortPrefix         = 2
	maxShortPrefixForms = 10
)

// expand looks each word up in the vocabulary (the _all field's
// dictionary, see vocab.go): its document frequency, for idf, and the
// indexed terms it may match with typos or as a prefix, from the merged
// vocabulary and the dictionaries of the segments it does not cover.
func (ix *Index) expand(ctx context.Context, v *view, words []qword) error {
	voc, unc := ix.vocabFor(v)
	r := v.r
	n, err := r.DocCount()
	if err != nil {
		return err
	}
	var x expansion
	for i := range words {
		w := &words[i]
		df, err := v.docFreq(fieldAll, w.Term)
		if err != nil {
			return err
		}
		df = min(df, n)
		w.idf = math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
		w.forms = []string{w.Term}
		if w.Stem != "" {
			w.forms = append(w.forms, w.Stem)
		}
		if w.typos > 0 {
			x.reset()
			if voc != nil {
				voc.typoForms(w, func(i int) { x.addVocab(voc, i) })
			}
			if len(unc) > 0 {
				// A typo on the first letter counts as two (see
				// typosTo): terms that begin with it are looked up
				// with the whole budget, the others, for a word of
				// two typos, with one.
				_, n := utf8.DecodeRuneInString(w.Term)
				first := []byte(w.Term[:n])
				after := prefixEnd(first)
				for _, r := range []struct {
					typos      int
					start, end []byte
				}{{w.typos, first, after}, {w.typos - 1, nil, first}, {w.typos - 1, after, nil}} {
					if r.typos == 0 || r.start == nil && r.end == nil {
						continue
					}
					a, err := levAutomaton(w.Term, r.typos)
					if err != nil {
						return err
					}
					if x.ents, err = v.lookup(unc, a, r.start, r.end, x.ents); err != nil {
						return err
					}
				}
			}
			w.forms = x.best(w, true, maxTypoForms, 0, w.forms)
		}
		if w.prefix {
			x.reset()
			p := []byte(w.Term)
			if voc != nil {
				lo, hi := voc.prefixRange(p)
				for i := lo; i < hi; i++ {
					x.addVocab(voc, i)
				}
			}
			if len(unc) > 0 {
				if x.ents, err = v.lookup(unc, &vellum.AlwaysMatch{}, p, prefixEnd(p), x.ents); err != nil {
					return err
				}
			}
			most := maxPrefixForms
			if utf8.RuneCountInString(w.Term) <= shortPrefix {
				most = maxShortPrefixForms
			}
			w.forms = x.best(w, false, most, prefixWork*float64(n), w.forms)
		}
		// A term can be both a typo form and a prefix form (programs
		// of "program"): each once, or the first pass would count it
		// twice.
		w.forms = uniq(w.forms)
	}
	return nil
}

// uniq drops repeated strings, keeping the first of each.
func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if !slices.Contains(s[:i], x) {
			out = append(out, x)
		}
	}
	return out
}

// expansion gathers the candidate forms of one word: terms of the
// vocabulary by number, with no string made for them until they are
// chosen, and terms of uncovered segments.
type expansion struct {
	voc  *vocab
	nums []int
	ents []dictEntry
	all  []formCand
}

type formCand struct {
	term  string
	typos int
	count uint64
	num   int // in the vocabulary, or -1
}

func (x *expansion) reset() { x.nums, x.ents, x.all = x.nums[:0], x.ents[:0], x.all[:0] }

func (x *expansion) addVocab(voc *vocab, i int) { x.voc = voc; x.nums = append(x.nums, i) }

// best appends to forms the best max candidates other than the word
// itself: for typos, those within its budget, closest first; then the
// most frequent (a term's count summed over the vocabulary and the
// uncovered segments), while their counts add up to no more than budget
// (0: no limit), the first in any case.
func (x *expansion) best(w *qword, typos bool, max int, budget float64, forms []string) []string {
	ok := func(term string) (int, bool) {
		if !typos {
			return 0, true
		}
		return w.typosTo(term)
	}
	for _, i := range x.nums {
		t := x.voc.term(i)
		if string(t) == w.Term { // no allocation
			continue
		}
		var d int
		if typos {
			var in bool
			if d, in = w.typosTo(string(t)); !in {
				continue
			}
		}
		x.all = append(x.all, formCand{typos: d, count: uint64(x.voc.count[i]), num: i})
	}
	if len(x.ents) > 0 {
		// Terms found in several places count once, their counts added.
		for i := range x.all {
			x.all[i].term = string(x.voc.term(x.all[i].num))
		}
		for _, e := range x.ents {
			if d, in := ok(e.term); in && e.term != w.Term {
				x.all = append(x.all, formCand{term: e.term, typos: d, count: e.count, num: -1})
			}
		}
		slices.SortFunc(x.all, func(a, b formCand) int { return cmp.Compare(a.term, b.term) })
		j := 0
		for i := 1; i < len(x.all); i++ {
			if x.all[i].term == x.all[j].term {
				x.all[j].count += x.all[i].count
				continue
			}
			j++
			x.all[j] = x.all[i]
		}
		if len(x.all) > 0 {
			x.all = x.all[:j+1]
		}
	}
	slices.SortFunc(x.all, func(a, b formCand) int {
		if a.typos != b.typos {
			return a.typos - b.typos
		}
		if a.count != b.count {
			return cmp.Compare(b.count, a.count)
		}
		return x.compareTerms(a, b)
	})
	var work float64
	for i, c := range x.all[:min(len(x.all), max)] {
		if budget > 0 && i > 0 && work+float64(c.count) > budget {
			break
		}
		work += float64(c.count)
		if c.term == "" {
			c.term = string(x.voc.term(c.num))
		}
		forms = append(forms, c.term)
	}
	return forms
}

func (x *expansion) compareTerms(a, b formCand) int {
	if a.term != "" && b.term != "" {
		return cmp.Compare(a.term, b.term)
	}
	if a.num >= 0 && b.num >= 0 {
		return a.num - b.num // the vocabulary is in term order
	}
	ta, tb := a.term, b.term
	if ta == "" {
		ta = string(x.voc.term(a.num))
	}
	if tb == "" {
		tb = string(x.voc.term(b.num))
	}
	return cmp.Compare(ta, tb)
}
