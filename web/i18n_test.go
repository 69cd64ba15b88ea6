package web

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestShellCataloguesAgree(t *testing.T) {
	cat, err := loadCatalog(shellFiles, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		if len(cat[l]) < 50 {
			t.Errorf("%s catalogue has only %d messages", l, len(cat[l]))
		}
	}
	if _, err := New(Options{}); err != nil {
		t.Fatalf("the shell does not start: %v", err)
	}
}

// page is a minimal service page for Load.
const okPage = `{{define "content"}}<h1>{{t "svc.title"}}</h1>{{end}}`

func serviceFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestLoadRefusesBrokenCatalogues(t *testing.T) {
	u, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ok", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": "Title"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, ""},
		{"key missing in one language", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": "Title", "svc.extra": "Extra"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, `"svc.extra" is missing in zh-CN`},
		{"placeholders differ", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": "Title {n}"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题 {count}"}`,
		}, "placeholders"},
		{"empty message", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": " "}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, "is empty in en"},
		{"template uses an unknown key", map[string]string{
			"templates/p.html": `{{define "content"}}{{t "svc.title"}}{{if true}}{{t "svc.nowhere"}}{{end}}{{end}}`,
			"i18n/en.json":     `{"svc.title": "Title"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, `key "svc.nowhere" is missing`},
		{"key in a nested pipeline", map[string]string{
			"templates/p.html": `{{define "content"}}{{printf "%s" (t "svc.gone")}}{{end}}`,
			"i18n/en.json":     `{"svc.title": "Title"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, `key "svc.gone" is missing`},
		{"key not a constant", map[string]string{
			"templates/p.html": `{{define "content"}}{{t .Data}}{{end}}`,
			"i18n/en.json":     `{"svc.title": "Title"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, "not a constant"},
		{"key clashes with the shell", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": "Title", "shell.skip": "Skip"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题", "shell.skip": "跳过"}`,
		}, `"shell.skip" is defined twice`},
		{"template syntax error", map[string]string{
			"templates/p.html": `{{define "content"}}{{if}}{{end}}`,
			"i18n/en.json":     `{"svc.title": "Title"}`,
			"i18n/zh-CN.json":  `{"svc.title": "标题"}`,
		}, "parse templates/p.html"},
		{"no content template", map[string]string{
			"templates/p.html": `{{define "body"}}{{end}}`,
			"i18n/en.json":     `{}`,
			"i18n/zh-CN.json":  `{}`,
		}, `defines no "content"`},
		{"catalogue missing", map[string]string{
			"templates/p.html": okPage,
			"i18n/en.json":     `{"svc.title": "Title"}`,
		}, "zh-CN.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := u.Load(serviceFS(tc.files))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Load error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]Lang{
		"":                               Chinese,
		"zh-CN,zh;q=0.9":                 Chinese,
		"zh":                             Chinese,
		"zh-Hant-TW":                     Chinese,
		"en-US,en;q=0.9":                 English,
		"en-GB":                          English,
		"fr-FR,fr;q=0.9":                 English,
		"fr-FR,fr;q=0.9,zh-CN;q=0.5":     Chinese,
		"de-DE,en;q=0.8,zh-CN;q=0.5":     English,
		"zh-CN;q=0.2,en;q=0.9":           English,
		"this is not a language header!": Chinese,
	} {
		if got := negotiate(header); got != want {
			t.Errorf("negotiate(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestFormatting(t *testing.T) {
	zh, en := Translator{Lang: Chinese}, Translator{Lang: English}
	for _, tc := range []struct {
		n                int64
		number, zhC, enC string
	}{
		{400, "400", "400", "400"},
		{9_999, "9,999", "9,999", "9,999"},
		{10_000, "10,000", "1万", "10,000"},
		{22_000, "22,000", "2.2万", "22,000"},
		{1_234_567, "1,234,567", "123.5万", "1,234,567"},
		{150_000_000, "150,000,000", "1.5亿", "150,000,000"},
		{-22_000, "-22,000", "-2.2万", "-22,000"},
	} {
		if got := en.Number(tc.n); got != tc.number {
			t.Errorf("Number(%d) = %q, want %q", tc.n, got, tc.number)
		}
		if got := zh.Number(tc.n); got != tc.number {
			t.Errorf("zh Number(%d) = %q, want %q", tc.n, got, tc.number)
		}
		if got := zh.Count(tc.n); got != tc.zhC {
			t.Errorf("zh Count(%d) = %q, want %q", tc.n, got, tc.zhC)
		}
		if got := en.Count(tc.n); got != tc.enC {
			t.Errorf("en Count(%d) = %q, want %q", tc.n, got, tc.enC)
		}
	}

	founded := time.Date(2013, 10, 24, 19, 30, 0, 0, DisplayZone)
	if got := zh.Date(founded); got != "2013年10月24日" {
		t.Errorf("zh Date = %q", got)
	}
	if got := en.Date(founded); got != "24 October 2013" {
		t.Errorf("en Date = %q", got)
	}
	// Times are shown in Hangzhou's zone whatever zone they come in.
	utc := founded.UTC()
	if got := zh.DateTime(utc); got != "2013年10月24日 19:30" {
		t.Errorf("zh DateTime = %q", got)
	}
	if got := en.DateTime(utc); got != "24 October 2013, 19:30" {
		t.Errorf("en DateTime = %q", got)
	}
	// Late evening UTC is the next morning in Hangzhou.
	if got := en.Date(time.Date(2015, 10, 13, 20, 0, 0, 0, time.UTC)); got != "14 October 2015" {
		t.Errorf("en Date across midnight = %q", got)
	}

	u, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	zh, en = u.own.Translator(Chinese), u.own.Translator(English)
	for _, tc := range []struct {
		d      time.Duration
		en, zh string
	}{
		{time.Second, "1 second", "1 秒"},
		{45 * time.Second, "45 seconds", "45 秒"},
		{time.Minute, "1 minute", "1 分钟"},
		{15 * time.Minute, "15 minutes", "15 分钟"},
		{150 * time.Second, "3 minutes", "3 分钟"},
		{time.Hour, "1 hour", "1 小时"},
		{2 * time.Hour, "2 hours", "2 小时"},
	} {
		if got := en.Duration(tc.d); got != tc.en {
			t.Errorf("en Duration(%s) = %q, want %q", tc.d, got, tc.en)
		}
		if got := zh.Duration(tc.d); got != tc.zh {
			t.Errorf("zh Duration(%s) = %q, want %q", tc.d, got, tc.zh)
		}
	}
}

func TestTranslate(t *testing.T) {
	tr := Translator{Lang: English, msgs: map[string]string{"a": "Hello {name}, {n} new", "b": "plain"}}
	if got := tr.T("a", "name", "杜勇", "n", 3); got != "Hello 杜勇, 3 new" {
		t.Errorf("T = %q", got)
	}
	if got := tr.T("a", "name", "x"); got != "Hello x, {n} new" {
		t.Errorf("T with a missing value = %q", got)
	}
	if got := tr.T("missing"); got != "[missing]" {
		t.Errorf("T of a missing key = %q", got)
	}
}

func TestPersonShowsErasedAccounts(t *testing.T) {
	cat, err := loadCatalog(shellFiles, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	for l, want := range map[Lang]string{Chinese: "已删除的用户", English: "erased person"} {
		tr := Translator{Lang: l, msgs: cat[l]}
		if got := tr.Person(""); got != want {
			t.Errorf("%s: Person(\"\") = %q, want %q", l, got, want)
		}
		if got := tr.Person("  "); got != want {
			t.Errorf("%s: Person of blanks = %q, want %q", l, got, want)
		}
		if got := tr.Person("杜勇"); got != "杜勇" {
			t.Errorf("%s: Person(杜勇) = %q", l, got)
		}
	}
}
