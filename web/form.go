package web

import (
	"fmt"
	"strings"
)

// Form carries what a visitor typed and what was wrong with it, so that a
// page shown again after an error keeps the values and ties each message to
// its field. Messages are already in the visitor's language.
type Form struct {
	values map[string]string
	errs   []FormError
	scope  string
}

// FormError is one problem, on a field (Field is the input's name) or on the
// form as a whole (Field empty). A problem may point somewhere the visitor
// can fix it (LinkHref, LinkText), such as the record it clashes with.
type FormError struct {
	Field    string
	Message  string
	LinkHref string
	LinkText string
	scope    string
}

// ID is the id of the input the error is about, for the summary's links.
func (e FormError) ID() string { return fieldID(e.scope, e.Field) }

// NewForm returns an empty form.
func NewForm() *Form { return &Form{values: map[string]string{}} }

// NewFormIn returns an empty form whose element ids start with scope. A
// page with two forms that share field names needs it: ids are unique on a
// page, and a label or error link would otherwise reach the other form's
// input.
func NewFormIn(scope string) *Form {
	f := NewForm()
	f.scope = scope
	return f
}

// ID is the element id of a field of this form, for a template that draws
// the input itself rather than with the "field" partial.
func (f *Form) ID(name string) string {
	if f == nil {
		return fieldID("", name)
	}
	return fieldID(f.scope, name)
}

// Set keeps a value to show again. Never keep a password.
func (f *Form) Set(name, value string) { f.values[name] = value }

// Value is the kept value of a field.
func (f *Form) Value(name string) string {
	if f == nil {
		return ""
	}
	return f.values[name]
}

// Checked reports whether a kept checkbox was ticked.
func (f *Form) Checked(name string) bool { return f.Value(name) != "" }

// Fail records a problem with a field; only a field's first problem is
// shown, since fixing it may fix the others.
func (f *Form) Fail(field, message string) { f.FailLink(field, message, "", "") }

// FailLink is Fail with a link after the message. href must be built by the
// caller from trusted parts (a path and an escaped id), never from what the
// visitor typed.
func (f *Form) FailLink(field, message, linkText, href string) {
	if field != "" && f.Error(field) != "" {
		return
	}
	f.errs = append(f.errs, FormError{Field: field, Message: message, LinkHref: href, LinkText: linkText, scope: f.scope})
}

// Error is the message for a field, "" when it is fine.
func (f *Form) Error(field string) string { return f.problem(field).Message }

func (f *Form) problem(field string) FormError {
	if f == nil {
		return FormError{}
	}
	for _, e := range f.errs {
		if e.Field == field {
			return e
		}
	}
	return FormError{}
}

// Errors lists every problem in the order found, for the error summary.
func (f *Form) Errors() []FormError {
	if f == nil {
		return nil
	}
	return f.errs
}

// Valid reports whether no problem was recorded.
func (f *Form) Valid() bool { return f == nil || len(f.errs) == 0 }

// DescribedBy is the aria-describedby value of a field with a hint: the
// hint and, when the field is invalid, its error.
func (f *Form) DescribedBy(name string, hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, f.ID(name)+"-hint")
	}
	if f.Error(name) != "" {
		ids = append(ids, f.ID(name)+"-error")
	}
	return strings.Join(ids, " ")
}

// fieldID turns an input name into an element id; names and scopes are
// plain words with underscores, which make valid ids as they are.
func fieldID(scope, name string) string {
	if scope != "" {
		name = scope + "-" + name
	}
	return "f-" + strings.ReplaceAll(name, "_", "-")
}

// Field is what the "field" partial draws: a labelled input with its hint
// and error wired up for assistive technology.
type Field struct {
	Name, Label, Type, Autocomplete string
	Value                           string
	Hint                            string
	Error                           string
	// ErrorHref and ErrorLinkText are the error's link, if it has one.
	ErrorHref, ErrorLinkText string
	Required                 bool
	// ShowLabel and HideLabel name the show-password control that
	// static/app.js adds to password fields.
	ShowLabel, HideLabel string
	scope                string
}

// ID is the input's id.
func (f Field) ID() string { return fieldID(f.scope, f.Name) }

// DescribedBy lists the ids of the hint and error paragraphs.
func (f Field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID()+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID()+"-error")
	}
	return strings.Join(ids, " ")
}

// newField is the "field" template function:
//
//	{{template "field" (field .Form "email" (t "label.email") "email" "email" "required" "hint" (t "hint.email"))}}
//
// After the type and the autocomplete token come options: the flag
// "required", and "hint", "show" and "hide" each followed by its text. A
// password field never shows its kept value.
func newField(form *Form, name, label, typ, autocomplete string, opts ...string) (Field, error) {
	e := form.problem(name)
	f := Field{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Error: e.Message,
		ErrorHref: e.LinkHref, ErrorLinkText: e.LinkText}
	if form != nil {
		f.scope = form.scope
	}
	if typ != "password" {
		f.Value = form.Value(name)
	}
	for i := 0; i < len(opts); i++ {
		next := func() string {
			if i+1 < len(opts) {
				i++
				return opts[i]
			}
			return ""
		}
		switch opts[i] {
		case "required":
			f.Required = true
		case "hint":
			f.Hint = next()
		case "show":
			f.ShowLabel = next()
		case "hide":
			f.HideLabel = next()
		default:
			return f, fmt.Errorf("field %s: unknown option %q", name, opts[i])
		}
	}
	return f, nil
}
