package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template/parse"
	"time"
)

//go:embed layout templates i18n
var shellFiles embed.FS

// layoutFile defines the page frame ("layout") and the partials every page
// may use ("field", "errorsummary"). It sits apart from templates/, where
// every file is a page.
const layoutFile = "layout/layout.html"

// Templates are one owner's pages (the shell's own, or a service's), each
// parsed together with the layout, once per language, at start-up.
type Templates struct {
	ui   *UI
	cat  catalog
	sets map[Lang]map[string]*template.Template // language → page name → set
}

// funcs are the template functions bound to one language. "t" takes a
// constant key so that parse can prove every key exists; text whose key is
// only known at run time is translated in Go (Translator.T) and passed in.
func funcs(tr Translator) template.FuncMap {
	return template.FuncMap{
		"t":        tr.T,
		"num":      func(n int) string { return tr.Number(int64(n)) },
		"count":    func(n int) string { return tr.Count(int64(n)) },
		"date":     tr.Date,
		"datetime": tr.DateTime,
		"isotime":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"field":    newField,
		"person":   tr.Person,
	}
}

// parsePages parses every templates/*.html of fsys (the page name is the file
// name without .html) with the layout, for every language, and checks each
// "t" call against cat.
func (u *UI) parsePages(fsys fs.FS, cat catalog) (*Templates, error) {
	pages, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, errors.New("no templates/*.html to parse")
	}
	ts := &Templates{ui: u, cat: cat, sets: map[Lang]map[string]*template.Template{}}
	for _, l := range Languages {
		ts.sets[l] = map[string]*template.Template{}
		tr := Translator{Lang: l, msgs: cat[l]}
		for _, p := range pages {
			name := strings.TrimSuffix(path.Base(p), ".html")
			t, err := template.New(name).Funcs(funcs(tr)).ParseFS(shellFiles, layoutFile)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", layoutFile, err)
			}
			if t, err = t.ParseFS(fsys, p); err != nil {
				return nil, fmt.Errorf("parse %s: %w", p, err)
			}
			if t.Lookup("content") == nil {
				return nil, fmt.Errorf("%s defines no \"content\" template", p)
			}
			if err := checkKeys(t, cat); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			ts.sets[l][name] = t
		}
	}
	return ts, nil
}

// checkKeys walks the parse trees of a template set and fails on a "t" call
// whose key is missing from any language, or is not a constant.
func checkKeys(t *template.Template, cat catalog) error {
	var problems []string
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		walk(tt.Tree.Root, func(cmd *parse.CommandNode) {
			if len(cmd.Args) == 0 {
				return
			}
			id, ok := cmd.Args[0].(*parse.IdentifierNode)
			if !ok || id.Ident != "t" {
				return
			}
			if len(cmd.Args) < 2 {
				problems = append(problems, fmt.Sprintf("%s: t without a key", tt.Name()))
				return
			}
			key, ok := cmd.Args[1].(*parse.StringNode)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: t with a key that is not a constant (%s); translate it in Go", tt.Name(), cmd.Args[1]))
				return
			}
			if !cat.has(key.Text) {
				problems = append(problems, fmt.Sprintf("%s: key %q is missing from a catalogue", tt.Name(), key.Text))
			}
		})
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return errors.New(strings.Join(slices.Compact(problems), "; "))
	}
	return nil
}

// walk calls fn for every command in the tree under n, including those in
// nested pipelines ((t "x") as an argument).
func walk(n parse.Node, fn func(*parse.CommandNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, fn)
		}
	case *parse.ActionNode:
		walk(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walk(c, fn)
		}
	case *parse.CommandNode:
		fn(n)
		for _, a := range n.Args {
			walk(a, fn)
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walk(n.Pipe, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(*parse.CommandNode)) {
	walk(b.Pipe, fn)
	walk(b.List, fn)
	if b.ElseList != nil {
		walk(b.ElseList, fn)
	}
}

// Translator returns the translator of a language over these templates'
// catalogue (the shell's messages and the owner's).
func (ts *Templates) Translator(l Lang) Translator {
	if !l.supported() {
		l = Languages[0]
	}
	return Translator{Lang: l, msgs: ts.cat[l]}
}
