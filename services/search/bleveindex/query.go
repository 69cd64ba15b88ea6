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
	index "github.com/blevesearch/bleve_index_api"

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
// small: typo forms closest first, prefix forms most frequent first.
const (
	maxTypoForms   = 12
	maxPrefixForms = 30
)

// expand looks each word up in the vocabulary (the _all field's
// dictionary): its document frequency, for idf, and the indexed terms it
// may match with typos or as a prefix. Doing this once per word, rather
// than a fuzzy and a prefix query per field, builds each Levenshtein
// automaton once.
func (ix *Index) expand(ctx context.Context, r index.IndexReader, words []qword) error {
	n, err := r.DocCount()
	if err != nil {
		return err
	}
	for i := range words {
		w := &words[i]
		tfr, err := r.TermFieldReader(ctx, []byte(w.Term), fieldAll, false, false, false)
		if err != nil {
			return err
		}
		df := min(tfr.Count(), n)
		tfr.Close()
		w.idf = math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
		w.forms = []string{w.Term}
		if w.Stem != "" {
			w.forms = append(w.forms, w.Stem)
		}
		type cand struct {
			term  string
			dist  int
			count uint64
		}
		var cands []cand
		if fr, ok := r.(index.IndexReaderFuzzy); ok && w.typos > 0 {
			fd, err := fr.FieldDictFuzzy(fieldAll, w.Term, w.typos, "")
			if err != nil {
				return err
			}
			for e, err := fd.Next(); e != nil && err == nil; e, err = fd.Next() {
				if d := typoDistance(w.Term, e.Term, w.typos); d <= w.typos && e.Term != w.Term {
					cands = append(cands, cand{e.Term, d, e.Count})
				}
			}
			fd.Close()
			slices.SortFunc(cands, func(a, b cand) int {
				if a.dist != b.dist {
					return a.dist - b.dist
				}
				return cmp.Compare(b.count, a.count)
			})
			for _, c := range cands[:min(len(cands), maxTypoForms)] {
				w.forms = append(w.forms, c.term)
			}
		}
		if w.prefix {
			cands = cands[:0]
			fd, err := r.FieldDictPrefix(fieldAll, []byte(w.Term))
			if err != nil {
				return err
			}
			for e, err := fd.Next(); e != nil && err == nil; e, err = fd.Next() {
				if e.Term != w.Term {
					cands = append(cands, cand{e.Term, 0, e.Count})
				}
			}
			fd.Close()
			slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(b.count, a.count) })
			for _, c := range cands[:min(len(cands), maxPrefixForms)] {
				w.forms = append(w.forms, c.term)
			}
		}
		w.forms = slices.Compact(w.forms)
	}
	return nil
}
