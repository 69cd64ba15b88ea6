package meiliindex

import (
	"encoding/base64"
	"strings"
	"unicode"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// Meilisearch analyses text itself (charabia: Chinese segmented with
// jieba, Latin lowercased), but it neither folds Taiwan vocabulary
// (資料庫 → 数据库), nor indexes the sub-words of long Chinese words, nor
// knows pinyin. So each document carries hidden fields with what our
// analysis package makes of its text, searchable right after the field
// they come from (so the attribute rule ranks them alike) and never
// displayed.

// Attribute names of the documents in Meilisearch.
const (
	attrID     = "id"     // primary key: the document id, encoded
	attrDocID  = "doc_id" // the document id as the projector gave it
	attrSortTS = "sort_ts"
	// A document's type; the checkpoint has its own, which every search
	// filters out.
	attrType       = "type"
	checkpointType = "yunqi_checkpoint"
	checkpointID   = "yunqi_checkpoint"
)

// searchableAttributes in rank order (see search.SearchableFields): the
// hidden zh_ (folded Chinese with sub-words) and py_ (pinyin) fields
// follow their sources.
var searchableAttributes = []string{
	"title", "title_en", "zh_title",
	"name", "name_zh", "name_en", "zh_name", "py_name",
	"authors", "zh_authors", "py_authors",
	"tags", "skills", "industry", "city", "zh_tags",
	"summary", "zh_summary",
	"body", "zh_body",
}

// displayedAttributes are the document's own fields: the hidden ones stay
// in the index.
var displayedAttributes = []string{
	attrDocID, "type", "url", "blog", "slug", "member_id", "user_id", "contest", "team_id", "collection", "edition",
	"title", "title_en", "name", "name_zh", "name_en", "authors", "date", "year", "tags", "summary", "body",
	"city", "industry", "tier", "founded_year", "skills", "track", "award", "joined_on", "website", "logo_url",
}

// highlightAttributes are the fields of search.Formatted.
var highlightAttributes = []string{"title", "title_en", "name", "name_zh", "name_en", "authors", "tags", "summary", "body"}

// wireDoc is a document as it is sent to and read from Meilisearch.
type wireDoc struct {
	PK    string `json:"id"`
	DocID string `json:"doc_id"`
	search.Document
	// Body is left out of Document's JSON (hits carry only the cropped
	// excerpt), but Meilisearch needs it to search and crop.
	Body   string `json:"body,omitempty"`
	SortTS int64  `json:"sort_ts,omitempty"`

	ZhTitle   string `json:"zh_title,omitempty"`
	ZhName    string `json:"zh_name,omitempty"`
	ZhAuthors string `json:"zh_authors,omitempty"`
	ZhTags    string `json:"zh_tags,omitempty"`
	ZhSummary string `json:"zh_summary,omitempty"`
	ZhBody    string `json:"zh_body,omitempty"`
	PyName    string `json:"py_name,omitempty"`
	PyAuthors string `json:"py_authors,omitempty"`
}

// checkpointDoc holds the index's checkpoint. Positions are strings: JSON
// numbers in Meilisearch are doubles, exact only up to 2^53.
type checkpointDoc struct {
	PK      string `json:"id"`
	Type    string `json:"type"`
	Commit  string `json:"commit"`
	Prepare string `json:"prepare"`
}

// primaryKey encodes a document id for Meilisearch, whose ids allow only
// ASCII letters, digits, - and _ (ours have : and /). Base64url keeps it
// reversible and unique; the "d" prefix keeps every encoded id apart from
// the checkpoint's.
func primaryKey(id string) string { return "d" + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// markers replace Meilisearch's highlight tags: Meilisearch does not
// escape HTML in _formatted, so we ask for characters from the private
// use area, escape the text, then turn them into <em>. They are removed
// from documents on the way in so that no text can forge a highlight.
const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

var stripMarks = strings.NewReplacer(markOpen, "", markClose, "")

func toWire(d search.Document) wireDoc {
	clean := func(s string) string { return stripMarks.Replace(s) }
	cleanAll := func(in []string) []string {
		if in == nil {
			return nil
		}
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = clean(s)
		}
		return out
	}
	d.Title, d.TitleEN = clean(d.Title), clean(d.TitleEN)
	d.Name, d.NameZH, d.NameEN = clean(d.Name), clean(d.NameZH), clean(d.NameEN)
	d.Summary, d.Body = clean(d.Summary), clean(d.Body)
	d.Authors, d.Tags, d.Skills = cleanAll(d.Authors), cleanAll(d.Tags), cleanAll(d.Skills)
	d.City, d.Industry = clean(d.City), clean(d.Industry)

	w := wireDoc{PK: primaryKey(d.ID), DocID: d.ID, Document: d, Body: d.Body}
	w.Document.Body = ""
	switch {
	case !d.Date.IsZero():
		w.SortTS = d.Date.Unix()
	case d.JoinedOn != "":
		if t, err := parseDay(d.JoinedOn); err == nil {
			w.SortTS = t.Unix()
		}
	}
	w.ZhTitle = chineseTerms(d.Titles()...)
	w.ZhName = chineseTerms(d.Names()...)
	w.ZhAuthors = chineseTerms(d.Authors...)
	w.ZhTags = chineseTerms(d.Labels()...)
	w.ZhSummary = chineseTerms(d.Summary)
	w.ZhBody = chineseTerms(d.Body)
	w.PyName = pinyinTerms(d.Names()...)
	w.PyAuthors = pinyinTerms(d.Authors...)
	return w
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// chineseTerms is the Chinese of texts as our analysis indexes it: folded
// to simplified, segmented, with sub-words, space-separated so that
// Meilisearch's own segmenter keeps each term whole. Empty when there is
// no Chinese, which keeps documents in other scripts the same size.
func chineseTerms(texts ...string) string {
	var words, alts []string
	for _, s := range texts {
		if !hasHan(s) {
			continue
		}
		for _, t := range analysis.Analyze(s) {
			switch {
			case t.Kind != analysis.CJK:
			case t.Alt:
				alts = append(alts, t.Term)
			default:
				words = append(words, t.Term)
			}
		}
	}
	// The words in their order first, so that phrases and proximity see
	// the text as written; the sub-words after them.
	return strings.Join(append(words, alts...), " ")
}

func pinyinTerms(names ...string) string {
	var terms []string
	for _, n := range names {
		terms = append(terms, analysis.Pinyin(n)...)
	}
	return strings.Join(terms, " ")
}

// foldQuery folds the Chinese words of a query to simplified as our
// analysis does, leaving everything else as typed (Meilisearch applies
// its own typo and prefix rules to it, and a trailing space still ends
// the last word).
func foldQuery(q string) string {
	if !hasHan(q) {
		return q
	}
	var b strings.Builder
	at := 0
	for _, t := range analysis.Analyze(q) {
		if t.Alt || t.Kind != analysis.CJK || t.Start < at {
			continue
		}
		b.WriteString(q[at:t.Start])
		b.WriteString(t.Term)
		at = t.End
	}
	b.WriteString(q[at:])
	return b.String()
}
