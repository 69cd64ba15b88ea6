package httpserver

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// A date-time in the wrong format fails inside time.Time's own decoder,
// whose error names neither the field nor the format, so encoding/json
// cannot say which field it was. timeFieldError finds it by walking the
// command's type beside the body as decoded generically: the first
// time.Time field whose value is not an RFC 3339 string is the one. This
// lets every command keep plain time.Time fields and still answer 422
// naming the field, the way the date-only fields do.

var timeType = reflect.TypeFor[time.Time]()

// dateTimeMessage is what a client must send instead.
const dateTimeMessage = "must be a date-time in RFC 3339 format, like 2015-10-14T09:00:00+08:00"

func timeFieldError(target any, body []byte) (FieldError, bool) {
	var generic any
	if json.Unmarshal(body, &generic) != nil {
		return FieldError{}, false
	}
	t := reflect.TypeOf(target)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path, ok := findBadTime(t, generic, "")
	if !ok {
		return FieldError{}, false
	}
	return FieldError{Field: path, Message: dateTimeMessage}, true
}

func findBadTime(t reflect.Type, v any, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return "", false
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			return path, true
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return path, true
		}
		return "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				if p, ok := findBadTime(f.Type, v, path); ok {
					return p, true
				}
				continue
			}
			val, ok := lookupField(obj, name)
			if !ok {
				continue
			}
			if p, ok := findBadTime(f.Type, val, join(path, name)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return "", false
		}
		for i, item := range list {
			if p, ok := findBadTime(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		for k, item := range obj {
			if p, ok := findBadTime(t.Elem(), item, join(path, k)); ok {
				return p, true
			}
		}
	}
	return "", false
}

// lookupField matches a key as encoding/json does: exactly, else without
// regard to case.
func lookupField(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
