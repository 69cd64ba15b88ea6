package blog

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the writers' and curators' commands. The HTTP edge turns them
// into problems (API) or form messages (pages) in one place each.
var (
	ErrBlogNotFound       = errors.New("no such blog")
	ErrPostNotFound       = errors.New("no such post")
	ErrCollectionNotFound = errors.New("no such collection")
	// ErrNotWriter: the caller is neither the blog's owner nor one of its
	// co-authors (or, for a collection, not one of its curators).
	ErrNotWriter = errors.New("not a writer of this blog")
	ErrNotOwner  = errors.New("not the owner of this blog")
)

// Problem is one thing wrong with a command's input. Code names the
// message in the pages' catalogue (blog.err.<code>), with Args filling its
// placeholders; Message is the same in English for the API.
type Problem struct {
	Field   string
	Code    string
	Args    []string // name, value pairs
	Message string
}

// ValidationError lists every problem found with a command's input.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// problems collects a command's input problems.
type problems []Problem

func (ps *problems) add(field, code, message string, args ...string) {
	for _, p := range *ps {
		if p.Field == field {
			return // the first problem of a field is the one to fix
		}
	}
	*ps = append(*ps, Problem{Field: field, Code: code, Args: args, Message: message})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// ConflictError: what the command would create exists already (a slug, a
// blog name, a collection id), or the state it was decided against is no
// longer current.
type ConflictError struct {
	Field   string
	Code    string
	Args    []string
	Message string
	// Href points at what it clashes with, "" when there is nothing to see.
	Href string
	// Current is the state the caller should decide against now (the
	// current chapter list of a collection), nil when there is none.
	Current any
}

func (e *ConflictError) Error() string { return e.Message }

func conflict(field, code, href, format string, args ...any) *ConflictError {
	return &ConflictError{Field: field, Code: code, Href: href, Message: fmt.Sprintf(format, args...)}
}
