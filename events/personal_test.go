package events

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// looksPersonal matches JSON names that usually hold personal data.
var looksPersonal = regexp.MustCompile(`(?i)(e_?mail|phone|mobile|name|author|contact|address|password|hash|birth|id_?card|passport|wechat|avatar)|(^|_)(bio|city)$`)

// TestPersonalFieldsDeclared walks every registered event type: a field
// whose JSON name looks personal must sit inside the personal member
// (sealed with the subject's key) or be declared in NotPersonal, saying
// why it is not. A new event type that forgets fails here.
func TestPersonalFieldsDeclared(t *testing.T) {
	var undeclared []string
	seen := map[string]bool{}
	for _, name := range Types.Names() {
		typ := Types.byName[name].typ
		walkFields(typ, name, func(path string, inPersonal bool) {
			seen[path] = true
			field := path[strings.LastIndex(path, ".")+1:]
			if inPersonal || !looksPersonal.MatchString(field) {
				return
			}
			if _, ok := NotPersonal[path]; !ok {
				undeclared = append(undeclared, path)
			}
		})
		v := reflect.New(typ).Elem()
		if f, ok := personalField(typ); ok && v.FieldByIndex(f.Index).Kind() != reflect.Struct {
			t.Errorf("%s: the %q member must be a struct (an object), so sealing can wrap it whole", name, PersonalMember)
		}
	}
	sort.Strings(undeclared)
	for _, p := range undeclared {
		t.Errorf("%s looks like personal data: move it into the %q member or declare it in NotPersonal with the reason", p, PersonalMember)
	}
	for p := range NotPersonal {
		if !seen[p] {
			t.Errorf("NotPersonal declares %s, which no event type has any more", p)
		}
	}
}

func personalField(t reflect.Type) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == PersonalMember {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	if n, _, _ := strings.Cut(tag, ","); n != "" {
		return n
	}
	return f.Name
}

func walkFields(t reflect.Type, path string, visit func(path string, inPersonal bool)) {
	var walk func(t reflect.Type, path string, inPersonal bool, depth int)
	walk = func(t reflect.Type, path string, inPersonal bool, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 6 || t.PkgPath() == "time" {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			n := jsonName(f)
			if n == "" {
				continue
			}
			p := path + "." + n
			personal := inPersonal || (depth == 0 && n == PersonalMember)
			visit(p, personal)
			walk(f.Type, p, personal, depth+1)
		}
	}
	walk(t, path, false, 0)
}

// Version 1 of an event with its byline at the top level reads as the
// current version, byline inside the personal member; the subject comes
// from the payload.
func TestBylinesMovedIntoPersonal(t *testing.T) {
	old := Event{ID: NewID(), Type: "blog.PostRevised", Metadata: Metadata{SchemaVersion: 1},
		Data: []byte(`{"blog":"b","slug":"s","revision":2,"editor":"u-1","editor_name":"Ada","title":"T"}`)}
	v, err := Types.Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	p := v.(PostRevised)
	if p.EditorName != "Ada" || p.Editor != "u-1" || p.Title != "T" {
		t.Errorf("upcast v1 = %+v", p)
	}
	up, _ := Types.Upcast(old)
	if strings.Contains(string(up.Data), `"editor_name":"Ada","`) && !strings.Contains(string(up.Data), `"personal":{"editor_name":"Ada"}`) {
		t.Errorf("upcast data %s", up.Data)
	}
	if !strings.Contains(string(up.Data), `"personal":{"editor_name":"Ada"}`) {
		t.Errorf("the byline is not in the personal member: %s", up.Data)
	}
	ev, err := Types.New(PostRevised{Blog: "b", Slug: "s", Editor: "u-2", EditorPersonal: EditorPersonal{EditorName: "Bo"}}, Metadata{})
	if err != nil || ev.Metadata.Subject != "u-2" || ev.Metadata.SchemaVersion != 2 {
		t.Errorf("New: subject %q, version %d, %v", ev.Metadata.Subject, ev.Metadata.SchemaVersion, err)
	}
	none, _ := Types.New(PostRevised{Blog: "b", Slug: "s"}, Metadata{})
	if strings.Contains(string(none.Data), PersonalMember) {
		t.Errorf("a revision without a byline carries a personal member: %s", none.Data)
	}
}
