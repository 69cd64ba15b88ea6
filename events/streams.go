package events

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxStreamNameLength keeps names well inside what both backends index.
const MaxStreamNameLength = 400

// StreamName joins a category and an id as "<category>-<id>". The category
// may not contain '-' so that Category can split the name back; the id may.
func StreamName(category, id string) string {
	return category + "-" + id
}

// Category is the part of a stream name before the first '-', which
// subscriptions filter on ("registration-" selects every registration).
func Category(stream string) string {
	c, _, _ := strings.Cut(stream, "-")
	return c
}

// StreamID is the part after the first '-'; empty when there is none.
func StreamID(stream string) string {
	_, id, _ := strings.Cut(stream, "-")
	return id
}

// ValidateStreamName refuses names the backends would treat differently:
// empty, too long, not UTF-8, with control characters or spaces, or starting
// with '$' (EventStoreDB's system streams).
func ValidateStreamName(stream string) error {
	switch {
	case stream == "":
		return fmt.Errorf("%w: empty stream name", ErrInvalidEvent)
	case len(stream) > MaxStreamNameLength:
		return fmt.Errorf("%w: stream name is %d bytes, above the limit of %d", ErrInvalidEvent, len(stream), MaxStreamNameLength)
	case !utf8.ValidString(stream):
		return fmt.Errorf("%w: stream name is not valid UTF-8", ErrInvalidEvent)
	case strings.HasPrefix(stream, "$"):
		return fmt.Errorf("%w: stream %q: names starting with $ are reserved for the store", ErrInvalidEvent, stream)
	}
	for _, r := range stream {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: stream %q contains a space or control character", ErrInvalidEvent, stream)
		}
	}
	return nil
}
