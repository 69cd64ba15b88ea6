package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-chi/chi/v5"
)

// ProblemBase prefixes every problem type this server defines. Type URIs are
// identifiers that clients switch on (RFC 9457 §3.1.1), so they never change
// once published; they need not resolve.
const ProblemBase = "https://yunqi-town.github.io/problems/"

// Problem types shared by every service. Services define their own under
// ProblemBase for domain errors (a full session, a wrong revision…).
const (
	TypeBadRequest       = ProblemBase + "bad-request"
	TypeValidation       = ProblemBase + "validation"
	TypeNotFound         = ProblemBase + "not-found"
	TypeMethodNotAllowed = ProblemBase + "method-not-allowed"
	TypeBodyTooLarge     = ProblemBase + "body-too-large"
	TypeUnsupportedMedia = ProblemBase + "unsupported-media-type"
	TypeInternal         = ProblemBase + "internal"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object. It is also an error, so a
// handler can return one from deep inside and the edge writes it as is.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID lets a user quote the failed request; it is filled in when
	// the problem is written.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists field-level validation failures.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one invalid input field.
type FieldError struct {
	Field   string `json:"field"` // JSON name or form field, dotted for nesting
	Message string `json:"message"`
}

// NewProblem builds a problem without field errors.
func NewProblem(status int, typ, title, detail string) *Problem {
	return &Problem{Type: typ, Title: title, Status: status, Detail: detail}
}

// ValidationProblem is the 422 for inputs that parsed but are not acceptable.
func ValidationProblem(errs ...FieldError) *Problem {
	return &Problem{
		Type:   TypeValidation,
		Title:  "Invalid input",
		Status: http.StatusUnprocessableEntity,
		Detail: "Some fields are not valid; see errors.",
		Errors: errs,
	}
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

func internalProblem() *Problem {
	return NewProblem(http.StatusInternalServerError, TypeInternal, "Internal error",
		"Something went wrong on our side. Quote the request id when you report it.")
}

func tooLargeProblem(limit int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, TypeBodyTooLarge, "Request body too large",
		fmt.Sprintf("The body may be at most %d bytes.", limit))
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	out := *p
	if out.RequestID == "" {
		out.RequestID = RequestID(r.Context())
	}
	if out.Status == 0 {
		out.Status = http.StatusInternalServerError
	}
	if out.Type == "" {
		out.Type = "about:blank"
	}
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(out.Status)
	json.NewEncoder(w).Encode(out)
}

// WriteError is the one place errors become responses. A *Problem anywhere
// in err's chain is written as is; a body over its limit is a 413; anything
// else is logged with the request id and answered with a 500 that carries no
// internal text.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var p *Problem
	switch {
	case errors.As(err, &p):
		if p.Status >= 500 {
			logger.ErrorContext(r.Context(), "request failed", "err", err, "request_id", RequestID(r.Context()))
		}
		WriteProblem(w, r, p)
	case IsTooLarge(err):
		var mbe *http.MaxBytesError
		errors.As(err, &mbe)
		WriteProblem(w, r, tooLargeProblem(mbe.Limit))
	default:
		logger.ErrorContext(r.Context(), "request failed", "err", err, "request_id", RequestID(r.Context()))
		WriteProblem(w, r, internalProblem())
	}
}

// DecodeJSON reads one JSON object from the request body into v, refusing
// unknown fields (a typo in a field name must not be silently dropped) and
// trailing data. Its errors are *Problem values ready for WriteError.
func DecodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return NewProblem(http.StatusUnsupportedMediaType, TypeUnsupportedMedia, "Unsupported media type",
			"Send the body as application/json.")
	}
	// Bodies are bounded by LimitBody, so reading one whole is cheap, and
	// it lets a date-time in the wrong format be traced to its field.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if IsTooLarge(err) {
			var mbe *http.MaxBytesError
			errors.As(err, &mbe)
			return tooLargeProblem(mbe.Limit)
		}
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "Unreadable body", "The request body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		if !errors.As(err, &syn) && (!errors.As(err, &typ) || typ.Type == timeType) {
			if fe, ok := timeFieldError(v, body); ok {
				return ValidationProblem(fe)
			}
		}
		return badJSON(err)
	}
	if string(bytes.TrimSpace(body)) == "null" {
		// json.Decode takes null as "change nothing", which would make a
		// command of its zero value: say what is missing instead.
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "Malformed JSON", "The body is null; send a JSON object.")
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "Malformed JSON", "The body must hold a single JSON value.")
	}
	return nil
}

// jsonKind names a Go type as the JSON value a client has to send.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// badJSON explains a decoding failure in terms of the request, which is
// safe to echo: it is what the client sent.
func badJSON(err error) *Problem {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	detail := "The body is not valid JSON."
	switch {
	case errors.Is(err, io.EOF):
		detail = "The body is empty."
	case errors.As(err, &syn):
		detail = fmt.Sprintf("The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		detail = fmt.Sprintf("Field %q must be %s.", typ.Field, jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		detail = "Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "."
	}
	return NewProblem(http.StatusBadRequest, TypeBadRequest, "Malformed JSON", detail)
}

// WriteJSON answers with v as JSON. A value that cannot be encoded is a
// programming error: it answers 500 without a body rather than half a
// document.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// APIFallbacks makes a service's API subrouter answer unknown paths and
// methods in problem+json, naming the service, instead of chi's plain text.
func APIFallbacks(r chi.Router, service string) {
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NewProblem(http.StatusNotFound, TypeNotFound,
			"Not found", "There is no "+service+" endpoint at "+r.URL.Path+"."))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, TypeMethodNotAllowed,
			"Method not allowed", r.Method+" is not supported on "+r.URL.Path+"."))
	})
}
