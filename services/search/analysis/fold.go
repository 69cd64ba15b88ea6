package analysis

import (
	"log/slog"
	"sync"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
)

// Folding traditional Chinese to simplified follows OpenCC's tw2sp chain:
// first Taiwan phrases and variants to their mainland forms (資料庫 →
// 数据库, 連線 → 连接), then traditional phrases and characters to
// simplified. We take OpenCC's dictionaries (through the opencc package)
// but run the chain ourselves, because a highlighter needs to know which
// original characters each folded character came from, and OpenCC's
// converter only returns the new text.

// twIT adds Taiwan computing vocabulary that OpenCC's phrase table lacks
// and that a reader of a Chinese programming text searches for in its
// mainland form. Like OpenCC's own tables it maps whole words, so it
// applies to every text alike.
var twIT = map[string]string{
	"範本":  "模板",
	"樣板":  "模板",
	"範例":  "示例",
	"用戶端": "客户端",
	"伺服端": "服务端",
	"回傳":  "返回",
	"回應":  "响应",
	"串流":  "流",
}

// stage is one step of the chain: a table of source strings to their
// replacement, longest match first.
type stage struct {
	table  map[string]foldEntry
	first  [0x10000 / 64]uint64 // BMP runes some key starts with: every other rune is copied as is
	astral map[rune]bool        // the same for runes above the BMP
	max    int                  // longest key, in runes
}

// foldEntry is a key of a stage, or the start of longer keys, or both.
type foldEntry struct {
	rep    string
	key    bool
	prefix bool
}

func (st *stage) starts(r rune) bool {
	if r < 0x10000 {
		return st.first[r>>6]&(1<<(r&63)) != 0
	}
	return st.astral[r]
}

var folder = sync.OnceValue(loadFolder)

func loadFolder() []*stage {
	cc, err := opencc.New("tw2sp")
	if err != nil {
		// The tables are compiled into the binary; see loadDictionary.
		slog.Error("search analysis: cannot load the traditional-to-simplified tables; Chinese is indexed as written", "err", err)
		return nil
	}
	var out []*stage
	// simplified holds every character that some traditional character
	// becomes. Taiwan's variant table turns a few of them into older forms
	// (么 → 幺), which is right for Taiwan text and wrong for the
	// simplified text we fold too, where it breaks words apart (怎么); so
	// the Taiwan stage leaves such characters alone.
	simplified := map[string]bool{}
	for gi, g := range cc.DictChains {
		if gi == 0 {
			continue
		}
		for _, d := range g.Dicts {
			for _, id := range d.Trie.PrefixPredict(nil, 0) {
				if vi, err := d.Trie.Value(id); err == nil && vi >= 0 && vi < len(d.Values) {
					for _, v := range d.Values[vi] {
						if utf8.RuneCountInString(v) == 1 {
							simplified[v] = true
						}
					}
				}
			}
		}
	}
	for gi, g := range cc.DictChains {
		st := &stage{table: map[string]foldEntry{}, astral: map[rune]bool{}}
		add := func(k, v string) {
			if e := st.table[k]; e.key || k == "" || v == "" {
				return // earlier tables of a group take precedence, as in OpenCC
			}
			e := st.table[k]
			e.key, e.rep = true, v
			st.table[k] = e
			r, _ := utf8.DecodeRuneInString(k)
			if r < 0x10000 {
				st.first[r>>6] |= 1 << (r & 63)
			} else {
				st.astral[r] = true
			}
			st.max = max(st.max, utf8.RuneCountInString(k))
			for i := range k {
				if i > 0 {
					p := st.table[k[:i]]
					p.prefix = true
					st.table[k[:i]] = p
				}
			}
		}
		if gi == 0 {
			for k, v := range twIT {
				add(k, v)
			}
		}
		for _, d := range g.Dicts {
			for _, id := range d.Trie.PrefixPredict(nil, 0) {
				key, err := d.Trie.Key(id)
				if err != nil {
					continue
				}
				vi, err := d.Trie.Value(id)
				if err != nil || vi < 0 || vi >= len(d.Values) || len(d.Values[vi]) == 0 {
					continue
				}
				if gi == 0 && simplified[string(key)] {
					continue
				}
				add(string(key), d.Values[vi][0])
			}
		}
		out = append(out, st)
	}
	return out
}

// foldChinese converts a run of Han characters to simplified Chinese. It
// returns the folded text and, per rune of it, the bytes of s it came
// from; a phrase replaced by one of another length (記憶體 → 内存) maps
// every rune of the replacement to the whole phrase.
func foldChinese(s string) (string, []span) {
	spans := make([]span, 0, len(s)/3)
	for i, r := range s {
		spans = append(spans, span{i, i + utf8.RuneLen(r)})
	}
	for _, st := range folder() {
		s, spans = st.apply(s, spans)
	}
	return s, spans
}

func (st *stage) apply(s string, spans []span) (string, []span) {
	offs := make([]int, 0, len(spans)+1)
	changed := false
	for i, r := range s {
		offs = append(offs, i)
		if st.starts(r) {
			changed = true
		}
	}
	if !changed {
		return s, spans
	}
	n := len(offs)
	offs = append(offs, len(s))
	out := make([]byte, 0, len(s))
	outSpans := make([]span, 0, n)
	for i := 0; i < n; {
		r, _ := utf8.DecodeRuneInString(s[offs[i]:])
		if st.starts(r) {
			// The longest key starting here, found by walking prefixes.
			bestLen, rep := 0, ""
			for l := 1; l <= st.max && i+l <= n; l++ {
				e, ok := st.table[s[offs[i]:offs[i+l]]]
				if !ok {
					break
				}
				if e.key {
					bestLen, rep = l, e.rep
				}
				if !e.prefix {
					break
				}
			}
			if bestLen > 0 {
				src := span{spans[i].start, spans[i+bestLen-1].end}
				out = append(out, rep...)
				for range utf8.RuneCountInString(rep) {
					outSpans = append(outSpans, src)
				}
				i += bestLen
				continue
			}
		}
		out = append(out, s[offs[i]:offs[i+1]]...)
		outSpans = append(outSpans, spans[i])
		i++
	}
	return string(out), outSpans
}
