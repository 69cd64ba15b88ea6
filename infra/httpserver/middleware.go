package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// RequestIDHeader carries the request id in both directions, so a client can
// quote it in a report and a proxy in front can set it.
const RequestIDHeader = "X-Request-ID"

type requestIDKey struct{}

// RequestID is the id of the request ctx belongs to ("" outside a request).
// Services copy it into event metadata, which ties the log to the events.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// validRequestID accepts ids from upstream only when they are short and
// plain, since they end up in logs and event metadata.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// quietPaths are polled by machines every few seconds; logging them at info
// would drown the requests people make.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					// A handler that writes nothing answers 200.
					status = http.StatusOK
				}
				level := slog.LevelInfo
				switch {
				case status >= 500:
					level = slog.LevelError
				case quietPaths[r.URL.Path] && status < 400:
					level = slog.LevelDebug
				}
				// The query string stays out: it may carry tokens.
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("duration", time.Since(start)),
					slog.String("remote", r.RemoteAddr),
				}
				// Behind a trusted proxy the peer is the proxy; the client
				// it forwarded for is who made the request.
				if ip := middleware.GetClientIP(r.Context()); ip != "" {
					attrs = append(attrs, slog.String("client", ip))
				}
				attrs = append(attrs, slog.String("request_id", RequestID(r.Context())))
				logger.LogAttrs(r.Context(), level, "http request", attrs...)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// recoverer turns a panic into a logged 500 whose body says nothing about
// the cause: a panic value can hold anything, including personal data.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.LogAttrs(r.Context(), slog.LevelError, "panic in handler",
					slog.String("panic", fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", RequestID(r.Context())),
				)
				if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
					// Part of a response is out already; aborting the
					// connection is the only honest signal left.
					panic(http.ErrAbortHandler)
				}
				WriteProblem(w, r, internalProblem())
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// LimitBody caps request bodies at n bytes. Reading past the cap fails with
// *http.MaxBytesError, which WriteError answers with 413. The server applies
// its default to every route; a route that takes bigger (or must take
// smaller) bodies wraps itself in its own LimitBody, whose limit then
// replaces the server's rather than nesting inside it.
func LimitBody(n int64) func(http.Handler) http.Handler {
	return limitBody(n, true)
}

// rawBodyKey holds the body as the client sent it, before any limit, so
// that a route's own limit can replace the server's.
type rawBodyKey struct{}

// limitBody caps bodies at n. early refuses a request whose declared length
// is over n before the handler runs; the server's default cannot do that,
// since a route further in may allow more, and relies on the reader alone.
func limitBody(n int64, early bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if early && r.ContentLength > n {
				WriteProblem(w, r, tooLargeProblem(n))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser)
				if !ok {
					raw = r.Body
					r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, raw))
				}
				r.Body = http.MaxBytesReader(w, raw, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsTooLarge reports whether err came from reading past a body limit.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
