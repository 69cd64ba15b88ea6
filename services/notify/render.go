package notify

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"strings"
	"text/template"
	"time"
)

//go:embed mail
var mailFiles embed.FS

// langs are the languages messages are written in.
var langs = []string{"zh-CN", "en"}

// shanghai is the conference's time zone: deadlines are given in it,
// whatever the reader's machine says, with the zone named.
var shanghai = time.FixedZone("CST", 8*3600)

func init() {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		shanghai = l
	}
}

var roleNames = map[string][2]string{
	"member":    {"成员", "member"},
	"reviewer":  {"联盟评审", "alliance reviewer"},
	"judge":     {"大赛评委", "contest judge"},
	"organizer": {"组织者", "organiser"},
}

// renderer writes notifications as text in one of langs.
type renderer struct {
	t map[string]*template.Template
}

func newRenderer() (*renderer, error) {
	r := &renderer{t: map[string]*template.Template{}}
	for _, l := range langs {
		zh := l == "zh-CN"
		funcs := template.FuncMap{
			"name": func(a map[string]string) string { return pickName(zh, a["name_zh"], a["name_en"]) },
			"when": func(s string) string { return formatWhen(zh, s) },
			// Every account has a name, so a blank one is an erased
			// person's: say so rather than leave a gap.
			"person": func(s string) string {
				if strings.TrimSpace(s) != "" {
					return s
				}
				if zh {
					return "已删除的用户"
				}
				return "erased person"
			},
			"role": func(s string) string {
				if n, ok := roleNames[s]; ok {
					if zh {
						return n[0]
					}
					return n[1]
				}
				return s
			},
		}
		t, err := template.New(l).Funcs(funcs).Option("missingkey=zero").ParseFS(mailFiles, "mail/"+l+".tmpl")
		if err != nil {
			return nil, fmt.Errorf("notify: mail templates: %w", err)
		}
		for _, k := range kinds {
			for _, part := range []string{"subject", "body"} {
				if t.Lookup(k.Kind+"."+part) == nil {
					return nil, fmt.Errorf("notify: mail templates: %s has no %s.%s", l, k.Kind, part)
				}
			}
		}
		r.t[l] = t
	}
	return r, nil
}

func pickName(zh bool, nameZH, nameEN string) string {
	if zh && nameZH != "" || nameEN == "" {
		return nameZH
	}
	return nameEN
}

func formatWhen(zh bool, s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	t = t.In(shanghai)
	if zh {
		return t.Format("2006年1月2日 15:04") + "（北京时间）"
	}
	return t.Format("2 January 2006, 15:04") + " (Beijing time)"
}

// mailData is what a message's templates see.
type mailData struct {
	Name  string
	A     map[string]string
	Prefs string // the preferences page, absolute
}

// rendered is a notification written out.
type rendered struct {
	Subject, Text, HTML string
}

func langOf(l string) string {
	if l == "en" {
		return "en"
	}
	return "zh-CN"
}

// title is a notification's one-line title in lang.
func (r *renderer) title(lang string, n *notification) string {
	s, _ := r.exec(langOf(lang), n.Kind+".subject", mailData{A: n.Args})
	return strings.Join(strings.Fields(s), " ")
}

func (r *renderer) exec(lang, name string, d mailData) (string, error) {
	var b bytes.Buffer
	if err := r.t[lang].ExecuteTemplate(&b, name, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// message writes a whole email: greeting, body, the link, the footer; as
// plain text and as the same paragraphs in HTML.
func (r *renderer) message(lang, name, link, prefs string, n *notification) (rendered, error) {
	lang = langOf(lang)
	d := mailData{Name: name, A: n.Args, Prefs: prefs}
	if d.Name == "" {
		d.Name = map[string]string{"zh-CN": "朋友", "en": "there"}[lang]
	}
	var out rendered
	var err error
	part := func(key string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = r.exec(lang, key, d)
		return strings.TrimSpace(s)
	}
	// A name or comment with a line break must not start a header.
	out.Subject = strings.Join(strings.Fields(part(n.Kind+".subject")), " ")
	greeting, body, footer := part("greeting"), part(n.Kind+".body"), part("footer")
	action := part("action")
	if r.t[lang].Lookup(n.Kind+".action") != nil {
		action = part(n.Kind + ".action")
	}
	if err != nil {
		return rendered{}, err
	}
	out.Text = greeting + "\n\n" + body + "\n\n" + action + ":\n" + link + "\n\n-- \n" + footer + "\n"

	var h strings.Builder
	h.WriteString(`<!doctype html><html lang="` + lang + `"><head><meta charset="utf-8"><title>` + html.EscapeString(out.Subject) + `</title></head>`)
	h.WriteString(`<body style="font-family:system-ui,sans-serif;line-height:1.6;color:#1f2328;max-width:36rem;margin:0 auto;padding:1rem">`)
	h.WriteString("<p>" + html.EscapeString(greeting) + "</p>")
	for _, para := range strings.Split(body, "\n\n") {
		h.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(para)), "\n", "<br>") + "</p>")
	}
	h.WriteString(`<p><a href="` + html.EscapeString(link) + `" style="display:inline-block;padding:.5rem 1rem;background:#0b57d0;color:#fff;border-radius:.4rem;text-decoration:none">` + html.EscapeString(action) + `</a></p>`)
	h.WriteString(`<hr><p style="font-size:.85rem;color:#59636e">` + html.EscapeString(strings.TrimSuffix(footer, prefs)) + `<a href="` + html.EscapeString(prefs) + `">` + html.EscapeString(prefs) + `</a></p>`)
	h.WriteString("</body></html>")
	out.HTML = h.String()
	return out, nil
}
