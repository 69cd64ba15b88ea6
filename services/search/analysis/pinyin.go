package analysis

import (
	"strings"

	"github.com/mozillazg/go-pinyin"
)

// Pinyin returns the pinyin terms of a name: the full spelling run
// together (duyong), the initials (dy) and each syllable (du, yong), so
// that people who cannot type the characters still find 杜勇. Only name
// fields get these: in running text, pinyin would make every short Latin
// word match some Chinese character.
//
// A name in Latin letters has no pinyin terms; the same field's ordinary
// analysis covers it. Traditional characters are folded first, since the
// pinyin tables are keyed by simplified forms for some characters.
func Pinyin(name string) []string {
	var full, initials strings.Builder
	var syllables []string
	a := pinyin.NewArgs()
	a.Style = pinyin.Normal
	for _, run := range hanRuns(name) {
		folded, _ := foldChinese(run)
		for _, p := range pinyin.LazyPinyin(folded, a) {
			if p == "" {
				continue
			}
			full.WriteString(p)
			initials.WriteByte(p[0])
			syllables = append(syllables, p)
		}
	}
	if full.Len() == 0 {
		return nil
	}
	out := []string{full.String()}
	if initials.String() != full.String() {
		out = append(out, initials.String())
	}
	for _, s := range syllables {
		if s != full.String() {
			out = append(out, s)
		}
	}
	return out
}

// hanRuns returns the runs of Han characters in s.
func hanRuns(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		if isHan(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}
