package search

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Filters use Meilisearch's syntax, so that the same filter string works on
// both backends:
//
//	blog = "goblog" AND (tags = generics OR tags = "type parameters")
//	year >= 2020 AND NOT tags IN [draft, internal]
//	year 2010 TO 2015
//	tags EXISTS, tags IS EMPTY, authors IS NOT NULL
//
// NOT binds tightest, then AND, then OR. Keywords are case-insensitive.
// Strings compare case-insensitively, as in Meilisearch; comparisons and
// TO take numbers and apply to numeric fields only. The parse is shared
// by the backends: each turns the tree into its own query.

// Expr is a parsed filter.
type Expr interface {
	// String gives the expression back in Meilisearch's syntax, fully
	// parenthesised and quoted, for a backend that takes the string.
	String() string
}

// And holds when every part holds.
type And []Expr

// Or holds when any part holds.
type Or []Expr

// Not holds when X does not.
type Not struct{ X Expr }

// Op is a condition's operator.
type Op uint8

const (
	OpEq      Op = iota + 1 // =
	OpNe                    // !=
	OpGt                    // >
	OpGe                    // >=
	OpLt                    // <
	OpLe                    // <=
	OpIn                    // IN [a, b]
	OpTo                    // a TO b (inclusive)
	OpExists                // EXISTS
	OpIsEmpty               // IS EMPTY
	OpIsNull                // IS NULL
)

// Cond is one condition on a field.
type Cond struct {
	Field  string
	Op     Op
	Values []string // one for comparisons, two for TO, any for IN
	// Numbers holds Values as numbers when Field is numeric.
	Numbers []float64
}

func (e And) String() string { return join(e, " AND ") }
func (e Or) String() string  { return join(e, " OR ") }
func (e Not) String() string { return "NOT (" + e.X.String() + ")" }

func join(parts []Expr, sep string) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = "(" + p.String() + ")"
	}
	return strings.Join(s, sep)
}

func (c Cond) String() string {
	q := func(v string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = q(v)
		if i < len(c.Numbers) {
			vals[i] = strconv.FormatFloat(c.Numbers[i], 'f', -1, 64)
		}
	}
	switch c.Op {
	case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
		return c.Field + " " + opText[c.Op] + " " + vals[0]
	case OpIn:
		return c.Field + " IN [" + strings.Join(vals, ", ") + "]"
	case OpTo:
		return c.Field + " " + vals[0] + " TO " + vals[1]
	case OpExists:
		return c.Field + " EXISTS"
	case OpIsEmpty:
		return c.Field + " IS EMPTY"
	case OpIsNull:
		return c.Field + " IS NULL"
	}
	return ""
}

var opText = map[Op]string{OpEq: "=", OpNe: "!=", OpGt: ">", OpGe: ">=", OpLt: "<", OpLe: "<="}

// FilterError is a filter that does not parse, or names a field that
// cannot be filtered. Column is the 1-based character where the problem
// is, so a client can point at it.
type FilterError struct {
	Column  int
	Message string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter: %s (at character %d)", e.Message, e.Column)
}

// Limits that keep a hostile filter cheap to refuse.
const (
	MaxFilterLength = 4000 // characters
	maxFilterDepth  = 32   // nested parentheses and NOTs
)

// ParseFilter parses a filter string; an empty one is no filter (nil).
// fields maps the filterable fields to whether they are numeric.
func ParseFilter(s string, fields map[string]bool) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if !utf8.ValidString(s) {
		return nil, &FilterError{Column: 1, Message: "the filter is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > MaxFilterLength {
		return nil, &FilterError{Column: MaxFilterLength + 1, Message: fmt.Sprintf("the filter is %d characters long; the limit is %d", n, MaxFilterLength)}
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, fields: fields, end: utf8.RuneCountInString(s) + 1}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "expected AND, OR or the end of the filter, found %s", t)
	}
	return e, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tString
	tOp
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
)

type token struct {
	kind tokKind
	text string
	col  int // 1-based character
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tString:
		return strconv.Quote(t.text)
	}
	return "`" + t.text + "`"
}

// keyword reports whether t is the keyword kw (case-insensitively). A
// quoted "AND" is a value, never a keyword.
func (t token) keyword(kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

var keywords = []string{"AND", "OR", "NOT", "TO", "IN", "EXISTS", "IS", "NULL", "EMPTY"}

func isKeyword(t token) bool {
	return t.kind == tWord && slices.ContainsFunc(keywords, func(k string) bool { return strings.EqualFold(t.text, k) })
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	col := 0
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		col = i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{tLParen, "(", col})
			i++
		case r == ')':
			toks = append(toks, token{tRParen, ")", col})
			i++
		case r == '[':
			toks = append(toks, token{tLBracket, "[", col})
			i++
		case r == ']':
			toks = append(toks, token{tRBracket, "]", col})
			i++
		case r == ',':
			toks = append(toks, token{tComma, ",", col})
			i++
		case r == '=':
			toks = append(toks, token{tOp, "=", col})
			i++
		case r == '!' || r == '<' || r == '>':
			if i+1 < len(rs) && rs[i+1] == '=' {
				toks = append(toks, token{tOp, string(r) + "=", col})
				i += 2
				continue
			}
			if r == '!' {
				return nil, &FilterError{Column: col, Message: "`!` must be followed by `=` (use NOT to negate a condition)"}
			}
			toks = append(toks, token{tOp, string(r), col})
			i++
		case r == '"' || r == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, &FilterError{Column: col, Message: fmt.Sprintf("this string is not closed: add the closing %c", r)}
			}
			toks = append(toks, token{tString, b.String(), col})
			i = j + 1
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune(`()[],=!<>"'`, rs[j]) {
				j++
			}
			toks = append(toks, token{tWord, string(rs[i:j]), col})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks   []token
	i      int
	fields map[string]bool
	end    int
}

func (p *filterParser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tEOF, col: p.end}
}

func (p *filterParser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *filterParser) errAt(t token, format string, args ...any) error {
	return &FilterError{Column: t.col, Message: fmt.Sprintf(format, args...)}
}

func (p *filterParser) or(depth int) (Expr, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	parts := Or{first}
	for p.peek().keyword("OR") {
		p.next()
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return parts, nil
}

func (p *filterParser) and(depth int) (Expr, error) {
	first, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	parts := And{first}
	for p.peek().keyword("AND") {
		p.next()
		e, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return parts, nil
}

func (p *filterParser) not(depth int) (Expr, error) {
	if depth > maxFilterDepth {
		return nil, p.errAt(p.peek(), "the filter nests deeper than %d levels", maxFilterDepth)
	}
	t := p.peek()
	if t.keyword("NOT") {
		p.next()
		e, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return Not{e}, nil
	}
	if t.kind == tLParen {
		p.next()
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.errAt(c, "expected `)` to close the `(` at character %d, found %s", t.col, c)
		}
		return e, nil
	}
	return p.condition()
}

func (p *filterParser) condition() (Expr, error) {
	ft := p.next()
	if ft.kind != tWord && ft.kind != tString || isKeyword(ft) {
		return nil, p.errAt(ft, "expected a field name such as `blog` or `year`, found %s", ft)
	}
	numeric, ok := p.fields[ft.text]
	if !ok {
		names := make([]string, 0, len(p.fields))
		for f := range p.fields {
			names = append(names, f)
		}
		slices.Sort(names)
		return nil, p.errAt(ft, "field `%s` cannot be filtered on; filterable fields are %s", ft.text, strings.Join(names, ", "))
	}
	c := Cond{Field: ft.text}
	t := p.next()
	switch {
	case t.kind == tOp:
		c.Op = map[string]Op{"=": OpEq, "!=": OpNe, ">": OpGt, ">=": OpGe, "<": OpLt, "<=": OpLe}[t.text]
		v, err := p.value(ft, numeric, c.Op != OpEq && c.Op != OpNe)
		if err != nil {
			return nil, err
		}
		c.add(v, numeric)
	case t.keyword("IN"):
		vals, err := p.list(ft, numeric)
		if err != nil {
			return nil, err
		}
		c.Op = OpIn
		for _, v := range vals {
			c.add(v, numeric)
		}
	case t.keyword("EXISTS"):
		c.Op = OpExists
	case t.keyword("IS"):
		neg := false
		if p.peek().keyword("NOT") {
			p.next()
			neg = true
		}
		switch w := p.next(); {
		case w.keyword("NULL"):
			c.Op = OpIsNull
		case w.keyword("EMPTY"):
			c.Op = OpIsEmpty
		default:
			return nil, p.errAt(w, "expected NULL or EMPTY after IS, found %s", w)
		}
		if neg {
			return Not{c}, nil
		}
	case t.keyword("NOT"):
		switch w := p.next(); {
		case w.keyword("IN"):
			vals, err := p.list(ft, numeric)
			if err != nil {
				return nil, err
			}
			c.Op = OpIn
			for _, v := range vals {
				c.add(v, numeric)
			}
		case w.keyword("EXISTS"):
			c.Op = OpExists
		default:
			return nil, p.errAt(w, "expected IN or EXISTS after NOT, found %s", w)
		}
		return Not{c}, nil
	case (t.kind == tWord || t.kind == tString) && !isKeyword(t) && p.peek().keyword("TO"):
		// field low TO high
		p.i--
		lo, err := p.value(ft, numeric, true)
		if err != nil {
			return nil, err
		}
		p.next() // TO
		hi, err := p.value(ft, numeric, true)
		if err != nil {
			return nil, err
		}
		c.Op = OpTo
		c.add(lo, numeric)
		c.add(hi, numeric)
	default:
		return nil, p.errAt(t, "expected an operator after `%s` (=, !=, >, >=, <, <=, IN, NOT IN, TO, EXISTS, IS EMPTY or IS NULL), found %s", ft.text, t)
	}
	return c, nil
}

// numVal is a parsed value: its text, and its number for numeric fields.
type numVal struct {
	text string
	num  float64
}

func (c *Cond) add(v numVal, numeric bool) {
	c.Values = append(c.Values, v.text)
	if numeric {
		c.Numbers = append(c.Numbers, v.num)
	}
}

// value reads one value. Comparisons need a number, and so a numeric
// field.
func (p *filterParser) value(field token, numeric, comparison bool) (numVal, error) {
	t := p.next()
	if t.kind != tWord && t.kind != tString || t.kind == tWord && isKeyword(t) {
		return numVal{}, p.errAt(t, "expected a value, found %s", t)
	}
	if comparison && !numeric {
		return numVal{}, p.errAt(t, "`%s` holds text: compare it with =, != or IN; >, <, and TO apply to numbers (year)", field.text)
	}
	v := numVal{text: t.text}
	if numeric {
		n, err := strconv.ParseFloat(strings.TrimSpace(t.text), 64)
		if err != nil {
			return numVal{}, p.errAt(t, "`%s` holds numbers, and %s is not one", field.text, t)
		}
		v.num = n
	}
	return v, nil
}

func (p *filterParser) list(field token, numeric bool) ([]numVal, error) {
	open := p.next()
	if open.kind != tLBracket {
		return nil, p.errAt(open, "expected `[` to start the list of values, found %s", open)
	}
	var out []numVal
	if p.peek().kind == tRBracket {
		p.next()
		return out, nil
	}
	for {
		v, err := p.value(field, numeric, false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch t := p.next(); t.kind {
		case tComma:
			if p.peek().kind == tRBracket { // a trailing comma
				p.next()
				return out, nil
			}
		case tRBracket:
			return out, nil
		default:
			return nil, p.errAt(t, "expected `,` or `]` in the list that starts at character %d, found %s", open.col, t)
		}
	}
}
