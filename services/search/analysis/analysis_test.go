package analysis

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func terms(toks []Token, alts bool) []string {
	var out []string
	for _, t := range toks {
		if t.Alt && !alts {
			continue
		}
		out = append(out, t.Term)
	}
	return out
}

func TestAnalyzeSplitsScriptsAndFolds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // words only
	}{
		{"9.4避免SQL注入", []string{"9.4", "避免", "sql", "注入"}},
		{"Go语言怎么处理JSON数据", []string{"go", "语言", "怎么", "处理", "json", "数据"}},
		{"資料庫連線", []string{"数据库", "连接"}},
		{"錯誤處理", []string{"错误处理"}},
		{"巢狀範本", []string{"嵌套", "模板"}},
		{"ＳＱＬ注入", []string{"sql", "注入"}},
		{"Go's http.Get don't", []string{"go", "http", "get", "dont"}},
		{"go1.22 and Go 1.22", []string{"go1.22", "and", "go", "1.22"}},
	} {
		got := terms(Analyze(c.in), false)
		if !slices.Equal(got, c.want) {
			t.Errorf("Analyze(%q) words = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAnalyzeAlternates(t *testing.T) {
	has := func(in string, want ...string) {
		t.Helper()
		got := terms(Analyze(in), true)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("Analyze(%q) = %q lacks %q", in, got, w)
			}
		}
	}
	has("待处理的任务", "待处理", "处理")
	has("数据库驱动", "数据库", "数据")
	has("Running profilers", "running", "run", "profil")
	has("go1.22", "go", "1.22")
	has("錯誤處理", "错误", "处理")
}

func TestOffsetsPointAtTheOriginal(t *testing.T) {
	in := "使用記憶體與資料庫"
	for _, tok := range Analyze(in) {
		if tok.Start < 0 || tok.End > len(in) || tok.Start >= tok.End {
			t.Fatalf("token %+v out of range", tok)
		}
	}
	toks := Analyze(in)
	var got []string
	for _, tok := range toks {
		if !tok.Alt {
			got = append(got, in[tok.Start:tok.End]+"="+tok.Term)
		}
	}
	want := []string{"使用=使用", "記憶體=内存", "與=与", "資料庫=数据库"}
	if !slices.Equal(got, want) {
		t.Errorf("sources %q, want %q", got, want)
	}
}

func TestPositionsShareForAlternates(t *testing.T) {
	toks := Analyze("数据库连接 testing")
	pos := map[string]int{}
	for _, tok := range toks {
		pos[tok.Term] = tok.Position
	}
	if pos["数据"] != pos["数据库"] || pos["连接"] != pos["数据库"]+1 || pos["test"] != pos["testing"] || pos["testing"] != pos["连接"]+1 {
		t.Errorf("positions %v", pos)
	}
}

func TestQueryWords(t *testing.T) {
	ws := QueryWords("Profiling 压力测")
	var got []string
	for _, w := range ws {
		got = append(got, w.Term+"/"+w.Stem)
	}
	want := []string{"profiling/profil", "压力/", "测/"}
	if !slices.Equal(got, want) {
		t.Errorf("QueryWords = %q, want %q", got, want)
	}
}

func TestPinyin(t *testing.T) {
	got := Pinyin("杜勇")
	for _, w := range []string{"duyong", "dy", "du", "yong"} {
		if !slices.Contains(got, w) {
			t.Errorf("Pinyin(杜勇) = %q lacks %q", got, w)
		}
	}
	if got := Pinyin("Eli Bendersky"); got != nil {
		t.Errorf("Pinyin of a Latin name = %q", got)
	}
	if got := Pinyin("劉德華"); !slices.Contains(got, "liudehua") {
		t.Errorf("Pinyin(劉德華) = %q", got)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	for _, in := range []string{"", "\xff\xfe", strings.Repeat("测", 10000), "a\x00b", "'''...'", "İstanbul"} {
		for _, tok := range Analyze(in) {
			if tok.Start < 0 || tok.End > len(in) || tok.Term == "" {
				t.Errorf("Analyze(%.20q): bad token %+v", in, tok)
			}
		}
	}
}

// TestDictionaryMemory reports what the shared dictionaries cost; it
// asserts nothing about the figure, which depends on the Go version.
func TestDictionaryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the dictionaries in a fresh measurement; skipped with -short")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	// Fresh copies, kept alive until measured: the shared ones may be
	// loaded already by other tests.
	d, f := loadDictionary(), loadFolder()
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("dictionaries: %d words, %d folding stages, loaded in %s, heap +%.1f MB (peak while loading: %.0f MB total heap)",
		len(d.words), len(f), took.Round(time.Millisecond),
		float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), float64(after.HeapSys)/(1<<20))
	runtime.KeepAlive(d)
	runtime.KeepAlive(f)
}

func BenchmarkAnalyzeChinese(b *testing.B) {
	data, err := os.ReadFile("../../../../shared/corpus/gobook-zh-tw/09.1.md")
	if err != nil {
		b.Skip("corpus absent:", err)
	}
	text := string(data)
	Analyze(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Analyze(text)
	}
}
