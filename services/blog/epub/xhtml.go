package epub

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// A chapter's HTML becomes XHTML in four steps. The fragment is parsed as
// a browser would parse it inside <body>, under a stand-in for the
// chapter's <section>. normalise keeps only elements and attributes that
// EPUB 3 content documents allow, renaming obsolete ones to their modern
// equivalent. conform then fixes what the HTML parser accepts but
// epubcheck's content models do not (a <div> inside a <span>, a link
// inside a link, an <li> outside a list). assignIDs makes ids unique. Only
// then, when every chapter's ids are known, the serializer writes the tree as
// XML, resolving links and images as it goes. Of its own the writer adds
// only the chapter's title, the wrappers lists require (<li>, <dd>), a
// task list checkbox's mark and the placeholders of missing images.

func parseFragment(s string) (*html.Node, error) {
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(s), body)
	if err != nil {
		return nil, err
	}
	root := &html.Node{Type: html.ElementNode, Data: "section", DataAtom: atom.Section}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	return root, nil
}

// prepare readies a parsed chapter for serialisation. It returns the map
// from the ids as written to the ids in the document, and whether the
// chapter starts with its own title as an h1.
func prepare(root *html.Node, title string) (map[string]string, bool) {
	normaliseChildren(root)
	conformChildren(root, context{})
	ids := assignIDs(root)
	own := false
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode && strings.TrimSpace(c.Data) == "" {
			continue
		}
		own = c.Type == html.ElementNode && c.Data == "h1" && collapse(textOf(c)) == collapse(title)
		break
	}
	return ids, own
}

// Elements kept as they are.
var kept = setOf("a abbr address article aside b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li mark ol p pre q rp rt ruby s samp section small span strong sub summary sup table tbody td tfoot th thead time tr u ul var wbr")

// Obsolete or unsuitable elements and what they become. nav and main
// have meanings in a book (the navigation document, the one main body)
// that a chapter's markup cannot claim.
var renamed = map[string]string{
	"acronym": "abbr", "strike": "s", "tt": "code", "big": "span", "font": "span", "nobr": "span",
	"blink": "span", "marquee": "span", "center": "div", "hgroup": "div", "main": "div", "nav": "div",
	"search": "div", "dir": "ul", "menu": "ul", "listing": "pre", "xmp": "pre", "plaintext": "pre",
}

// Elements removed with their content: code, media, metadata and form
// controls mean nothing on a page without a browser behind it, and their
// content is not text to read. Any other element not kept is unwrapped:
// its content stays.
var dropped = setOf("script style template iframe object embed noscript noembed noframes frameset frame head title meta link base audio video canvas source track param select textarea datalist option optgroup area")

// Void elements, which XML writes self-closed.
var void = setOf("area base br col embed hr img input link meta source track wbr")

// Elements allowed where only phrasing content is.
var phrasing = setOf("a abbr b bdi bdo br cite code del dfn em i img ins kbd mark q ruby rp rt s samp small span strong sub sup time u var wbr")

// Elements whose content must be phrasing content. dt is stricter in
// HTML than flow content but looser than this; treating it as phrasing
// is the simple side of valid.
var phrasingContent = setOf("p h1 h2 h3 h4 h5 h6 pre abbr b bdi bdo cite code dfn em i kbd mark q ruby rp rt s samp small span strong sub sup time u var summary dt")

// Transparent elements take the content model of their parent.
var transparent = setOf("a del ins")

// Elements that are valid only inside particular parents.
var parents = map[string]string{
	"li": "ul ol", "dt": "dl", "dd": "dl", "figcaption": "figure", "summary": "details",
	"rt": "ruby", "rp": "ruby", "caption": "table", "colgroup": "table", "col": "colgroup",
	"thead": "table", "tbody": "table", "tfoot": "table", "tr": "table thead tbody tfoot", "td": "tr", "th": "tr",
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

func rename(n *html.Node, tag string) {
	n.Data = tag
	n.DataAtom = atom.Lookup([]byte(tag))
}

// unwrap replaces n with its children and returns the first of them, or
// the node after n when it had none.
func unwrap(n *html.Node) *html.Node {
	next, first := n.NextSibling, n.FirstChild
	p := n.Parent
	for c := n.FirstChild; c != nil; {
		nc := c.NextSibling
		n.RemoveChild(c)
		p.InsertBefore(c, n)
		c = nc
	}
	p.RemoveChild(n)
	if first != nil {
		return first
	}
	return next
}

func normaliseChildren(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		c = normalise(c)
	}
}

// normalise cleans n and its subtree and returns the next node to visit.
func normalise(n *html.Node) *html.Node {
	next := n.NextSibling
	switch {
	case n.Type == html.TextNode:
		return next
	case n.Type != html.ElementNode || n.Namespace != "" || dropped[n.Data]:
		// Comments, doctypes, and SVG or MathML, which would need their
		// own namespaces and validation; the HTML parser puts those in a
		// namespace.
		n.Parent.RemoveChild(n)
		return next
	}
	if n.Data == "input" {
		// A GFM task list item's checkbox is worth keeping as its mark.
		if attrVal(n, "type") == "checkbox" {
			mark := "☐"
			if hasAttr(n, "checked") {
				mark = "☑"
			}
			n.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: mark}, n)
		}
		n.Parent.RemoveChild(n)
		return next
	}
	align := ""
	if to, ok := renamed[n.Data]; ok {
		if n.Data == "center" {
			align = "center"
		}
		rename(n, to)
	}
	if !kept[n.Data] {
		return unwrap(n)
	}
	cleanAttrs(n, align)
	normaliseChildren(n)
	return next
}

var (
	integer     = regexp.MustCompile(`^-?[0-9]+$`)
	nonNegative = regexp.MustCompile(`^[0-9]+$`)
	positive    = regexp.MustCompile(`^0*[1-9][0-9]*$`)
	datetime    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,3})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$`)
	styleAlign  = regexp.MustCompile(`(?i)(?:^|;)\s*text-align\s*:\s*(left|right|center|justify)\s*(?:;|$)`)
)

// cleanAttrs keeps the attributes EPUB 3 allows on n, with values it
// accepts. Presentational alignment (align, center, an inline text-align)
// becomes a class the stylesheet knows; other inline style is dropped,
// since the book's stylesheet sets the page and style is the one thing a
// web page's markup is sure to get wrong on a reader's screen.
func cleanAttrs(n *html.Node, align string) {
	out := n.Attr[:0]
	var class []string
	lang := ""
	for _, a := range n.Attr {
		if a.Namespace != "" {
			continue
		}
		k, v := strings.ToLower(a.Key), a.Val
		tv := strings.TrimSpace(v)
		ok := false
		switch k {
		case "id", "title":
			ok = true
		case "class":
			class = append(class, strings.Fields(v)...)
		case "lang":
			if langTag.MatchString(tv) {
				lang = tv
			}
		case "xml:lang":
			if lang == "" && langTag.MatchString(tv) {
				lang = tv
			}
		case "dir":
			tv = strings.ToLower(tv)
			ok = tv == "ltr" || tv == "rtl" || tv == "auto"
			v = tv
		case "align":
			if a := strings.ToLower(tv); a == "left" || a == "right" || a == "center" || a == "justify" {
				align = a
			}
		case "style":
			if m := styleAlign.FindStringSubmatch(v); m != nil {
				align = strings.ToLower(m[1])
			}
		default:
			v, ok = elementAttr(n.Data, k, tv)
		}
		if ok {
			out = append(out, html.Attribute{Key: k, Val: v})
		}
	}
	if align != "" {
		class = append(class, "align-"+align)
	}
	if len(class) > 0 {
		out = append(out, html.Attribute{Key: "class", Val: strings.Join(class, " ")})
	}
	if lang != "" {
		out = append(out, html.Attribute{Key: "lang", Val: lang})
	}
	n.Attr = out
	if n.Data == "bdo" && !hasAttr(n, "dir") {
		rename(n, "bdi") // bdo means nothing without a direction
	}
}

// elementAttr checks an attribute that only some elements have.
func elementAttr(tag, k, v string) (string, bool) {
	switch tag + " " + k {
	case "a href", "img src": // resolved when written
		return v, true
	case "a name": // an old-style anchor, which becomes an id
		return v, v != ""
	case "img alt":
		return v, true
	case "img width", "img height":
		return v, nonNegative.MatchString(v)
	case "ol start", "li value":
		return v, integer.MatchString(v)
	case "ol reversed", "details open":
		return k, true
	case "ol type":
		return v, len(v) == 1 && strings.Contains("1aAiI", v)
	case "td colspan", "th colspan", "col span", "colgroup span":
		return v, positive.MatchString(v)
	case "td rowspan", "th rowspan":
		return v, nonNegative.MatchString(v)
	case "th scope":
		v = strings.ToLower(v)
		return v, v == "row" || v == "col" || v == "rowgroup" || v == "colgroup"
	case "blockquote cite", "q cite", "del cite", "ins cite":
		return absoluteURL(v)
	case "del datetime", "ins datetime", "time datetime":
		return v, datetime.MatchString(v)
	}
	return "", false
}

// context is what the content model of n's parent allows.
type context struct {
	phrasing bool // only phrasing content
	inLink   bool // inside an <a>, where no interactive content may be
	inDfn    bool
}

func conformChildren(n *html.Node, c context) {
	conformList(n)
	for ch := n.FirstChild; ch != nil; {
		ch = conform(ch, c)
	}
}

// conformList fixes the children of elements that only hold particular
// children.
func conformList(n *html.Node) {
	switch n.Data {
	case "ul", "ol":
		wrapStrays(n, "li", setOf("li"))
		if n.Data == "ul" {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				removeAttr(c, "value")
			}
		}
	case "dl":
		wrapStrays(n, "dd", setOf("dt dd"))
		// HTML wants groups of terms each followed by descriptions; a
		// list that is not that becomes plain blocks.
		prev := ""
		ok := true
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode {
				if prev == "" && c.Data == "dd" {
					ok = false
				}
				prev = c.Data
			}
		}
		if !ok || prev == "dt" {
			rename(n, "div") // its dt and dd then become divs
		}
	case "table":
		orderTable(n)
	case "colgroup":
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode {
				removeAttr(n, "span") // span is for a colgroup without cols
				break
			}
		}
	case "details":
		if first := firstElement(n); first == nil || first.Data != "summary" {
			rename(n, "div")
		}
	}
}

// wrapStrays puts each run of children that n may not hold (text that is
// not blank, other elements) into a new element tag.
func wrapStrays(n *html.Node, tag string, allowed map[string]bool) {
	var wrap *html.Node
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.ElementNode && allowed[c.Data]:
			wrap = nil
		case c.Type == html.TextNode && strings.TrimSpace(c.Data) == "" && wrap == nil:
		default:
			if wrap == nil {
				wrap = &html.Node{Type: html.ElementNode, Data: tag, DataAtom: atom.Lookup([]byte(tag))}
				n.InsertBefore(wrap, c)
			}
			n.RemoveChild(c)
			wrap.AppendChild(c)
		}
		c = next
	}
}

// orderTable puts a table's parts in the order HTML requires (caption,
// colgroups, thead, bodies, tfoot), which the HTML parser leaves as
// written; a second thead or tfoot becomes a body.
func orderTable(t *html.Node) {
	rank := map[string]int{"caption": 0, "colgroup": 1, "thead": 2, "tbody": 3, "tr": 3, "tfoot": 4}
	var parts [5][]*html.Node
	var other []*html.Node
	seen := map[string]bool{}
	for c := t.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			other = append(other, c)
			continue
		}
		if (c.Data == "thead" || c.Data == "tfoot" || c.Data == "caption") && seen[c.Data] {
			if c.Data == "caption" {
				// A table has one caption; a second one leaves the table,
				// where conform makes it a block.
				other = append(other, c)
				continue
			}
			rename(c, "tbody")
		}
		seen[c.Data] = true
		r, ok := rank[c.Data]
		if !ok {
			other = append(other, c)
			continue
		}
		parts[r] = append(parts[r], c)
	}
	for c := t.FirstChild; c != nil; {
		next := c.NextSibling
		t.RemoveChild(c)
		c = next
	}
	for _, p := range parts {
		for _, c := range p {
			t.AppendChild(c)
		}
	}
	// What a table cannot hold goes after it, where it is still read.
	for i := len(other) - 1; i >= 0; i-- {
		c := other[i]
		if c.Type == html.TextNode && strings.TrimSpace(c.Data) == "" {
			continue
		}
		if t.Parent != nil {
			t.Parent.InsertBefore(c, t.NextSibling)
		}
	}
}

// conform fixes n for the context it is in and returns the next node to
// visit.
func conform(n *html.Node, c context) *html.Node {
	if n.Type != html.ElementNode {
		return n.NextSibling
	}
	tag := n.Data
	// A link inside a link, or a definition inside a definition, is not
	// allowed; the inner one gives way, keeping its id as a span.
	if (tag == "a" && c.inLink) || (tag == "dfn" && c.inDfn) {
		if !hasAttr(n, "id") {
			return unwrap(n)
		}
		removeAttr(n, "href")
		rename(n, "span")
		tag = "span"
	}
	if tag == "details" && c.inLink {
		rename(n, "div")
		tag = "div"
	}
	if want, ok := parents[tag]; ok && !fitsParent(n, want) {
		to := "div"
		if tag == "rt" || tag == "rp" {
			to = "span"
		}
		rename(n, to)
		tag = to
	}
	if c.phrasing && !phrasing[tag] {
		if tag == "hr" {
			next := n.NextSibling
			n.Parent.RemoveChild(n)
			return next
		}
		// Block markup where only text may be: keep the text, lose the
		// block. A list or table in a heading is beyond saving as one.
		rename(n, "span")
		tag = "span"
	}
	cc := context{phrasing: c.phrasing || phrasingContent[tag], inLink: c.inLink || tag == "a", inDfn: c.inDfn || tag == "dfn"}
	if transparent[tag] {
		cc.phrasing = c.phrasing
	}
	conformChildren(n, cc)
	return n.NextSibling
}

func fitsParent(n *html.Node, want string) bool {
	p := n.Parent
	if p == nil || p.Type != html.ElementNode {
		return false
	}
	ok := false
	for _, w := range strings.Fields(want) {
		ok = ok || p.Data == w
	}
	if !ok {
		return false
	}
	switch n.Data {
	case "summary":
		return firstElement(p) == n
	case "figcaption":
		return firstElement(p) == n || lastElement(p) == n
	}
	return true
}

func firstElement(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

func lastElement(n *html.Node) *html.Node {
	for c := n.LastChild; c != nil; c = c.PrevSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

// assignIDs makes every id (and old <a name> anchor) a unique XML name
// and returns the map from what was written to what the document has. An
// id written twice maps to its first element, as in a browser.
func assignIDs(root *html.Node) map[string]string {
	ids := map[string]string{}
	used := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			raw := attrVal(c, "id")
			if raw == "" && c.Data == "a" {
				raw = attrVal(c, "name")
			}
			removeAttr(c, "name")
			removeAttr(c, "id")
			if id := xmlName(raw); id != "" {
				base := id
				for i := 2; used[id]; i++ {
					id = base + "-" + strconv.Itoa(i)
				}
				used[id] = true
				if _, dup := ids[raw]; !dup {
					ids[raw] = id
				}
				// id first, so that a placeholder taking its place finds it
				c.Attr = append([]html.Attribute{{Key: "id", Val: id}}, c.Attr...)
			}
			walk(c)
		}
	}
	walk(root)
	return ids
}

// xmlName makes s an XML name without colons, which an id must be for
// EPUB 2 readers and CSS alike: other characters become hyphens, and a
// name that cannot start as it does gets a prefix.
func xmlName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		if isNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if strings.Trim(out, "-") == "" {
		return ""
	}
	if r, _ := utf8.DecodeRuneInString(out); !isNameStart(r) {
		out = "id-" + out
	}
	return out
}

func isNameStart(r rune) bool {
	switch {
	case r == '_' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z':
		return true
	case r < 0xC0:
		return false
	}
	return r <= 0xD6 || 0xD8 <= r && r <= 0xF6 || 0xF8 <= r && r <= 0x2FF || 0x370 <= r && r <= 0x37D ||
		0x37F <= r && r <= 0x1FFF || 0x200C <= r && r <= 0x200D || 0x2070 <= r && r <= 0x218F ||
		0x2C00 <= r && r <= 0x2FEF || 0x3001 <= r && r <= 0xD7FF || 0xF900 <= r && r <= 0xFDCF ||
		0xFDF0 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0xEFFFF
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || '0' <= r && r <= '9' || r == 0xB7 ||
		0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040
}

// serializer writes a prepared chapter as XHTML.
type serializer struct {
	bk  *book
	doc *document
	w   *xw
}

func (s *serializer) children(n *html.Node, phr, inLink bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		s.node(c, phr, inLink)
	}
}

// node writes n; phr and inLink say what its parent allows, as conform
// left it.
func (s *serializer) node(n *html.Node, phr, inLink bool) {
	if n.Type == html.TextNode {
		s.w.text(n.Data)
		return
	}
	if n.Type != html.ElementNode {
		return
	}
	attrs := n.Attr
	switch n.Data {
	case "img":
		s.image(n, phr, inLink)
		return
	case "a":
		attrs = make([]html.Attribute, 0, len(n.Attr))
		for _, a := range n.Attr {
			if a.Key == "href" {
				if a.Val = s.bk.href(s.doc, a.Val); a.Val == "" {
					continue
				}
			}
			attrs = append(attrs, a)
		}
		if len(attrs) == 0 {
			// A link to nowhere is its text.
			s.children(n, phr, inLink)
			return
		}
	}
	s.start(n.Data, attrs)
	if void[n.Data] {
		s.w.s("/>")
		return
	}
	s.w.s(">")
	cp := phr || phrasingContent[n.Data]
	if transparent[n.Data] {
		cp = phr
	}
	s.children(n, cp, inLink || n.Data == "a")
	s.w.s("</" + n.Data + ">")
}

func (s *serializer) start(tag string, attrs []html.Attribute) {
	s.w.s("<" + tag)
	for _, a := range attrs {
		s.w.s(" " + a.Key + `="`).attr(a.Val).s(`"`)
		if a.Key == "lang" {
			// XML readers look at xml:lang, HTML ones at lang.
			s.w.s(` xml:lang="`).attr(a.Val).s(`"`)
		}
	}
}

// image writes an <img> as the caller resolved it: embedded, a
// placeholder, or its alt text.
func (s *serializer) image(n *html.Node, phr, inLink bool) {
	src, alt := attrVal(n, "src"), attrVal(n, "alt")
	l := s.bk.resolve(s.doc, "src", src)
	caption, ref, link := collapse(l.Caption), src, ""
	switch l.Kind {
	case LinkImage:
		if im := s.bk.imageSrc(l.Ref); im != nil {
			attrs := []html.Attribute{{Key: "src", Val: im.name}, {Key: "alt", Val: alt}}
			for _, a := range n.Attr {
				if a.Key != "src" && a.Key != "alt" {
					attrs = append(attrs, a)
				}
			}
			s.start("img", attrs)
			s.w.s("/>")
			return
		}
		ref = orDefault(l.Ref, src)
	case LinkDrop:
		if id := attrVal(n, "id"); id != "" {
			s.w.s(`<span id="`).attr(id).s(`">`).text(alt).s("</span>")
		} else {
			s.w.text(alt)
		}
		return
	case LinkExternal, LinkMissingImage:
		link = l.URL
	}
	// A remote image may be linked to, unless the placeholder is inside a
	// link already.
	if u, ok := absoluteURL(link); ok && (strings.HasPrefix(u, "http:") || strings.HasPrefix(u, "https:")) {
		ref, link = u, u
		if inLink {
			link = ""
		}
	} else {
		link = ""
	}
	label := ""
	if caption == "" {
		label, caption = s.bk.labels.missingImage, collapse(ref)
	}
	outer, inner := "figure", "figcaption"
	if phr {
		outer, inner = "span", ""
	}
	s.w.s("<" + outer)
	if id := attrVal(n, "id"); id != "" {
		s.w.s(` id="`).attr(id).s(`"`)
	}
	s.w.s(` class="missing-image">`)
	if inner != "" {
		s.w.s("<" + inner + ">")
	}
	s.w.text(label)
	if link != "" {
		s.w.s(`<a href="`).attr(link).s(`">`).text(caption).s("</a>")
	} else {
		s.w.text(caption)
	}
	if alt = collapse(alt); alt != "" && alt != caption {
		s.w.text(s.bk.labels.open + alt + s.bk.labels.close)
	}
	if inner != "" {
		s.w.s("</" + inner + ">")
	}
	s.w.s("</" + outer + ">")
}

func attrVal(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

func removeAttr(n *html.Node, key string) {
	out := n.Attr[:0]
	for _, a := range n.Attr {
		if a.Key != key {
			out = append(out, a)
		}
	}
	n.Attr = out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// escape writes s as XML character data: the five XML entities where
// needed (no HTML named entity means anything to an XML parser), and no
// character XML 1.0 forbids, which the HTML parser lets through.
func escape(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '"' {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && xmlChar(r) {
				i += size
				continue
			}
		}
		b.WriteString(s[last:i])
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '"':
			b.WriteByte('"')
		case r == '\n' && !attr, r == '\t' && !attr:
			b.WriteByte(c)
		case r == '\n', r == '\t', r == '\r':
			// Written as references, so that an XML parser keeps them
			// rather than normalising them away.
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		case r == utf8.RuneError || (r >= 0x80 && !xmlChar(r)):
			b.WriteRune(unicode.ReplacementChar)
		}
		// Other C0 controls are dropped: XML 1.0 has no way to say them.
		i += size
		last = i
	}
	b.WriteString(s[last:])
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || 0x20 <= r && r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF
}
