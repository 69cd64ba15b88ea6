package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Lang is a language the pages are written in, as its BCP 47 tag.
type Lang string

const (
	Chinese Lang = "zh-CN" // simplified Chinese, the community's own language
	English Lang = "en"
)

// Languages lists every language each catalogue must cover, in the order the
// language control shows them.
var Languages = []Lang{Chinese, English}

func (l Lang) supported() bool { return slices.Contains(Languages, l) }

// matcher picks the best of our languages for an Accept-Language header.
// Its first tag is what a visitor gets when the header names nothing close.
var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// negotiate chooses a language from an Accept-Language header. A browser
// that asks for neither Chinese nor English (French, say) gets English, which
// its user more likely reads; a request with no header at all comes from a
// script or a crawler and gets the community's own language.
func negotiate(header string) Lang {
	if strings.TrimSpace(header) == "" {
		return Chinese
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return Chinese
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	if i == 0 {
		return Chinese
	}
	return English
}

// catalog holds one message table per language. Keys are dotted and
// namespaced by owner ("home.", "identity."), so service catalogues merge
// into the shell's without colliding.
type catalog map[Lang]map[string]string

// placeholder matches {name} in a message.
var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// loadCatalog reads i18n/<lang>.json for every language from fsys, and
// any i18n/<part>.<lang>.json beside it: a service's staff screens keep
// their messages apart from the attendees' so each file stays readable.
// A key defined in two files of one language is an error.
func loadCatalog(fsys fs.FS, dir string) (catalog, error) {
	c := catalog{}
	for _, l := range Languages {
		names := []string{path.Join(dir, string(l)+".json")}
		parts, err := fs.Glob(fsys, path.Join(dir, "*."+string(l)+".json"))
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", dir, err)
		}
		names = append(names, parts...)
		m := map[string]string{}
		for _, name := range names {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("catalogue %s: %w", name, err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("catalogue %s: %w", name, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("catalogue %s: %q is defined twice", name, k)
				}
				m[k] = v
			}
		}
		c[l] = m
	}
	return c, c.check()
}

// check enforces what the pages rely on: every key in every language, no
// empty message, and the same placeholders in each translation, so that a
// message can never lose the number it is about.
func (c catalog) check() error {
	var problems []string
	all := map[string]bool{}
	for _, l := range Languages {
		for k := range c[l] {
			all[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		var want []string
		for i, l := range Languages {
			msg, ok := c[l][k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%q is missing in %s", k, l))
				continue
			case strings.TrimSpace(msg) == "":
				problems = append(problems, fmt.Sprintf("%q is empty in %s", k, l))
			}
			got := placeholders(msg)
			if i == 0 {
				want = got
			} else if !slices.Equal(got, want) {
				problems = append(problems, fmt.Sprintf("%q has placeholders %v in %s but %v in %s", k, got, l, want, Languages[0]))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("catalogues disagree:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func placeholders(msg string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// merge returns a catalogue holding c and other; a key in both is an error,
// since one of the two owners would silently lose its text.
func (c catalog) merge(other catalog) (catalog, error) {
	out := catalog{}
	for _, l := range Languages {
		out[l] = maps.Clone(c[l])
		if out[l] == nil {
			out[l] = map[string]string{}
		}
		for k, v := range other[l] {
			if _, dup := out[l][k]; dup {
				return nil, fmt.Errorf("catalogue key %q is defined twice", k)
			}
			out[l][k] = v
		}
	}
	return out, nil
}

func (c catalog) has(key string) bool {
	for _, l := range Languages {
		if _, ok := c[l][key]; !ok {
			return false
		}
	}
	return true
}

// Translator renders messages and formats values for one language.
type Translator struct {
	Lang Lang
	msgs map[string]string
}

// T returns the message for key with its {placeholders} filled from args,
// given as name, value pairs. Values are formatted with fmt.Sprint, so
// numbers and dates should be formatted (Number, Date) before they are
// passed. A missing key comes back as the key in brackets: visible enough to
// be caught, never a crash.
func (t Translator) T(key string, args ...any) string {
	msg, ok := t.msgs[key]
	if !ok {
		return "[" + key + "]"
	}
	if len(args) == 0 {
		return msg
	}
	vals := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		vals[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
	}
	return placeholder.ReplaceAllStringFunc(msg, func(m string) string {
		if v, ok := vals[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// Has reports whether key has a message.
func (t Translator) Has(key string) bool {
	_, ok := t.msgs[key]
	return ok
}

// Person is a person's name as pages show it. Every account has a name,
// so an empty one is a person whose account was erased: their personal
// data reads as nothing once their key is gone, and projections drop the
// names they had copied. Pages say so rather than leave a gap.
func (t Translator) Person(name string) string {
	if strings.TrimSpace(name) == "" {
		return t.T("person.erased")
	}
	return name
}

// Number formats n with thousands separators, as both languages write
// exact figures: 22,000.
func (t Translator) Number(n int64) string { return groupDigits(n) }

// Count formats a count for running text. Chinese counts large numbers in
// 万 (ten thousands) and 亿, as people say them: 2.2万 rather than 22,000;
// English groups the digits. The Chinese form is rounded to one decimal, so
// use Number where the exact figure matters.
func (t Translator) Count(n int64) string {
	if t.Lang != Chinese || n < 10_000 && n > -10_000 {
		return groupDigits(n)
	}
	unit, div := "万", 1e4
	if n >= 100_000_000 || n <= -100_000_000 {
		unit, div = "亿", 1e8
	}
	s := strconv.FormatFloat(float64(n)/div, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + unit
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

// DisplayZone is the time zone dates and times are shown in. The community
// and its events are in Hangzhou, and China keeps one zone without daylight
// saving, so a fixed offset is exact and needs no tz database.
var DisplayZone = time.FixedZone("UTC+8", 8*60*60)

// Date formats the calendar day of tm in DisplayZone: 2013年10月24日 or
// 24 October 2013.
func (t Translator) Date(tm time.Time) string {
	tm = tm.In(DisplayZone)
	if t.Lang == Chinese {
		return fmt.Sprintf("%d年%d月%d日", tm.Year(), int(tm.Month()), tm.Day())
	}
	return tm.Format("2 January 2006")
}

// DateTime formats tm to the minute in DisplayZone: 2013年10月24日 19:30 or
// 24 October 2013, 19:30.
func (t Translator) DateTime(tm time.Time) string {
	tm = tm.In(DisplayZone)
	if t.Lang == Chinese {
		return t.Date(tm) + " " + tm.Format("15:04")
	}
	return tm.Format("2 January 2006, 15:04")
}

// Duration says how long a wait is, rounded to the largest whole unit that
// fits: "15 minutes", "15 分钟".
func (t Translator) Duration(d time.Duration) string {
	secs := int64(d.Round(time.Second) / time.Second)
	unit, n := "second", secs
	switch {
	case secs >= 3600 && secs%3600 == 0:
		unit, n = "hour", secs/3600
	case secs >= 60 && secs%60 == 0:
		unit, n = "minute", secs/60
	case secs >= 120:
		unit, n = "minute", (secs+59)/60
	}
	form := "other"
	if n == 1 {
		form = "one"
	}
	return t.T("duration."+unit+"."+form, "n", t.Number(n))
}

// langKey is the context key of the request's language.
type langKey struct{}

// LanguageCookie remembers the language a visitor chose with the language
// control; it wins over Accept-Language.
const LanguageCookie = "yunqi_lang"

// LanguageOf is the language to answer r in: the one the language
// middleware settled on, else the visitor's cookie, else Accept-Language.
func LanguageOf(r *http.Request) Lang {
	if l, ok := r.Context().Value(langKey{}).(Lang); ok {
		return l
	}
	if c, err := r.Cookie(LanguageCookie); err == nil && Lang(c.Value).supported() {
		return Lang(c.Value)
	}
	return negotiate(r.Header.Get("Accept-Language"))
}
