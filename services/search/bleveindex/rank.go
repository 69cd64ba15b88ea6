package bleveindex

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/services/search"
)

// Ranking. Meilisearch ranks by rules applied one after another: matched
// words, typos, proximity, attribute, exactness. Bleve scores by BM25
// summed over whatever clauses matched, times a coordination factor that
// counts clauses, so a word found in both title and body counts twice
// over. Neither is what we want, so Bleve only finds the matching
// documents and a custom score (Bleve's CustomScoreQuery) ranks each one
// from the term locations Bleve hands it: where each query word matched,
// in which field, in which form.
//
// A strict rule order fails readers who type sentences: "what is the
// difference between concurrency and parallelism" is best answered by a
// short post titled "Concurrency is not parallelism", which lacks
// "difference", while the words rule puts first every long post that has
// all three. So each rule weighs instead of deciding (see relevance).

// Searchable fields with their weight (the attribute rule) and how much
// their length dampens a match (BM25's b): a word in the title counts
// more, and a title is short by nature, so its length says little.
var fieldWeight = map[string]float64{"title": 3, "name": 3, "authors": 3, fieldPinyin: 2, "tags": 2, "summary": 1.5, "body": 1}
var fieldB = map[string]float64{"title": 0.3, "name": 0.3, "authors": 0.3, fieldPinyin: 0, "tags": 0.3, "summary": 0.6, "body": 0.75}

// Weights of the forms a word may match in (the exactness rule): as typed,
// by its stem, as a prefix of a longer word, with one or two typos.
const (
	formExact  = 1.0
	formStem   = 0.9
	formPrefix = 0.7
	formTypo1  = 0.5
	formTypo2  = 0.35
)

const (
	k1 = 1.2
	// maxProximity caps the distance of two words far apart (or in
	// different fields), as Meilisearch does.
	maxProximity = 8
)

// The fields ranking reads, by number (the searchable fields, then
// pinyin), so that a document's matches sit in small arrays rather than
// maps keyed by name.
var (
	rankFields   = append(slices.Clone(search.SearchableFields), fieldPinyin)
	fieldNumbers = func() map[string]int {
		if len(rankFields) > maxRankFields {
			panic("bleveindex: more searchable fields than maxRankFields")
		}
		m := map[string]int{}
		for i, f := range rankFields {
			m[f] = i
		}
		return m
	}()
	fPinyin = len(rankFields) - 1
)

const maxRankFields = 10

func fieldNumber(name string) int {
	if i, ok := fieldNumbers[name]; ok {
		return i
	}
	return -1
}

// scorer ranks the documents of one query.
type scorer struct {
	words []qword
	avg   [maxRankFields]float64 // mean field lengths, for BM25
	// accepted holds, for each term the query's forms match, how each
	// query word takes it: a document repeats the same few terms many
	// times, and typo distances are not cheap.
	accepted map[string][]acceptance
	// per (field, term) pair located (see terms)
	ftField []int
	ftAcc   [][]acceptance
	// reused from document to document
	occ []occurrence
	ms  []wordMatch
}

type acceptance struct {
	ok    bool
	typos int
	form  float64
}

func newScorer(words []qword, avg [maxRankFields]float64) *scorer {
	s := &scorer{words: words, accepted: map[string][]acceptance{}, avg: avg}
	for _, w := range words {
		for _, t := range append(w.forms, w.Term) {
			if _, done := s.accepted[t]; !done {
				s.accepted[t] = s.accept(t, nil)
			}
		}
	}
	return s
}

func (s *scorer) accept(term string, buf []acceptance) []acceptance {
	buf = buf[:0]
	for i := range s.words {
		ok, typos, form := s.words[i].accepts(term)
		buf = append(buf, acceptance{ok, typos, form})
	}
	return buf
}

// occurrence is one query word found at one position of one field.
type occurrence struct {
	word, field int
	pos         uint64
	form        float64
	typos       int
}

// wordMatch is how one query word matched one document: its occurrences
// are occ[lo[f]:hi[f]] for field f, in position order.
type wordMatch struct {
	matched bool
	typos   int
	tf      [maxRankFields]float64 // form-weighted occurrences
	lo, hi  [maxRankFields]int
}

// features are a document's ranking criteria.
type features struct {
	words     int // matched query words
	typos     int
	bm25      float64
	coverage  float64 // idf of the matched words over the idf of all
	near      float64 // mean closeness (1/distance) of consecutive matched words
	proximity int
}

// terms prepares the scoring of documents located on the given (field,
// term) pairs: each pair's field number and how each query word takes
// its term.
func (s *scorer) terms(fts []fieldTerm) {
	s.ftField = s.ftField[:0]
	s.ftAcc = s.ftAcc[:0]
	for _, ft := range fts {
		s.ftField = append(s.ftField, fieldNumber(ft.field))
		acc, ok := s.accepted[ft.term]
		if !ok {
			// Pinyin prefixes reach terms outside the forms.
			acc = s.accept(ft.term, nil)
		}
		s.ftAcc = append(s.ftAcc, acc)
	}
}

// score ranks a document from its locations (on the pairs given to
// terms) and its field lengths in words (see lengthCache).
func (s *scorer) score(recs []locRec, lens *[maxRankFields]float64) float64 {
	return s.features(recs, lens).relevance()
}

// features reads a document's term locations against the query.
func (s *scorer) features(recs []locRec, lens *[maxRankFields]float64) features {
	occ := s.occ[:0]
	for _, r := range recs {
		field := s.ftField[r.ft]
		if field < 0 {
			continue
		}
		for i, a := range s.ftAcc[r.ft] {
			if a.ok {
				occ = append(occ, occurrence{i, field, uint64(r.pos), a.form, a.typos})
			}
		}
	}
	s.occ = occ
	// One location may be seen through several forms (a word and its
	// stem share a position); each position counts once, at its best.
	slices.SortFunc(occ, func(a, b occurrence) int {
		if a.word != b.word {
			return a.word - b.word
		}
		if a.field != b.field {
			return a.field - b.field
		}
		if a.pos != b.pos {
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(b.form, a.form)
	})
	if cap(s.ms) < len(s.words) {
		s.ms = make([]wordMatch, len(s.words))
	}
	ms := s.ms[:len(s.words)]
	clear(ms)
	kept := occ[:0]
	for j, o := range occ {
		m := &ms[o.word]
		if !m.matched || o.typos < m.typos {
			m.typos = o.typos
		}
		m.matched = true
		if j > 0 && occ[j-1].word == o.word && occ[j-1].field == o.field && occ[j-1].pos == o.pos {
			continue
		}
		if m.hi[o.field] == 0 {
			m.lo[o.field] = len(kept)
		}
		m.tf[o.field] += o.form
		kept = append(kept, o)
		m.hi[o.field] = len(kept)
	}
	occ = kept

	var f features
	total, got := 0.0, 0.0
	prev, pairs := -1, 0
	for i := range ms {
		w := &s.words[i]
		total += w.idf
		m := &ms[i]
		if !m.matched {
			continue
		}
		got += w.idf
		f.words++
		f.typos += m.typos
		// BM25 per field, weighted by field and summed over fields: a
		// word in the title and the body counts in both, each
		// saturating on its own.
		for field, tf := range m.tf {
			if tf == 0 {
				continue
			}
			name := rankFields[field]
			norm := 1.0
			if avg := s.avg[field]; avg > 0 {
				norm = 1 - fieldB[name] + fieldB[name]*lens[field]/avg
			}
			f.bm25 += fieldWeight[name] * w.idf * tf * (k1 + 1) / (tf + k1*max(norm, 0.1))
		}
		if prev >= 0 {
			dist := proximity(occ, &ms[prev], m)
			f.proximity += dist
			f.near += 1 / float64(dist)
			pairs++
		}
		prev = i
	}
	if pairs > 0 {
		f.near /= float64(pairs)
	}
	if total > 0 {
		f.coverage = got / total
	}
	return f
}

// relevance folds the rules into one score:
//
//   - words: the matched share of the query's information (idf-weighted
//     coverage), squared, so that missing a rare word costs more than a
//     common one, and missing words costs more than anything below;
//   - typos: divided by 1 + the typos spent;
//   - proximity: up to 2.5× for query words standing next to each other
//     (Meilisearch ranks proximity before the field, and a Chinese query
//     such as 数据库连接 is one compound: its words belong together);
//   - attribute and exactness: inside BM25, through the field weights
//     and the form weights.
//
// The weights were set once on principle and checked for robustness on
// the dev queries: title weights from 2 to 4, coverage exponents from 0.5
// to 2 and proximity weights from 0.5 to 1.5 all score MRR@10 between
// 0.94 and 0.98. They are not fitted to single queries.
func (f features) relevance() float64 {
	const (
		coverageExponent = 2
		proximityWeight  = 1.5
		typoWeight       = 1
	)
	return f.bm25 * math.Pow(f.coverage, coverageExponent) * (1 + proximityWeight*f.near) / (1 + typoWeight*float64(f.typos))
}

// proximity is the distance between two consecutive query words' closest
// occurrences in one field, one more when they stand in reverse order,
// capped at maxProximity. Pinyin has no positions worth comparing.
func proximity(occ []occurrence, a, b *wordMatch) int {
	best := maxProximity
	for field := range fPinyin {
		pa, pb := occ[a.lo[field]:a.hi[field]], occ[b.lo[field]:b.hi[field]]
		i, j := 0, 0
		for i < len(pa) && j < len(pb) {
			var d int
			if pb[j].pos > pa[i].pos {
				d = int(pb[j].pos - pa[i].pos)
			} else {
				d = int(pa[i].pos-pb[j].pos) + 1
			}
			best = min(best, d)
			if best == 1 {
				return 1
			}
			if pa[i].pos < pb[j].pos {
				i++
			} else {
				j++
			}
		}
	}
	return best
}

// accepts tells whether an indexed term is a form of w: the word itself,
// its stem, a word it begins (for the last word), or a word within its
// typo budget. It reports the typos spent and the form's weight.
func (w *qword) accepts(term string) (ok bool, typos int, form float64) {
	switch {
	case term == w.Term:
		return true, 0, formExact
	case w.Stem != "" && term == w.Stem:
		return true, 0, formStem
	case w.prefix && strings.HasPrefix(term, w.Term):
		return true, 0, formPrefix
	case w.typos > 0:
		if d, ok := w.typosTo(term); ok {
			if d == 1 {
				return true, 1, formTypo1
			}
			return true, d, formTypo2
		}
	}
	return false, 0, 0
}

// typosTo is how many typos term costs w, counted as Meilisearch counts
// them: a typo on the first letter counts as two, so a word of one typo
// must begin with its first letter, and one of two may spend both there.
// ok tells whether it is within w's budget.
func (w *qword) typosTo(term string) (typos int, ok bool) {
	d := typoDistance(w.Term, term, w.typos)
	if d > w.typos {
		return d, false
	}
	a, _ := utf8.DecodeRuneInString(w.Term)
	b, _ := utf8.DecodeRuneInString(term)
	if a != b {
		d++
	}
	return d, d <= w.typos
}

// typoDistance is the optimal string alignment distance (Levenshtein with
// transpositions, as Meilisearch counts typos) between a and b, or
// limit+1 when it is larger than limit.
func typoDistance(a, b string, limit int) int {
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
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Two passes. Scoring from term locations costs a location decode and a
// feature build per document, and a common word matches most of a large
// index, so locations are read only for a pool of candidates that a
// cheaper first pass picks (passes.go): Bleve's BM25 from postings
// frequencies and norms alone, each query word's forms in every
// searchable field boosted by field and form weight as the scorer weighs
// them, more matched words counting for more, as coverage does.
