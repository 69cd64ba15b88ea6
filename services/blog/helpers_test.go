package blog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// openStore opens the embedded event store in a temp dir.
func openStore(t testing.TB) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// corpusDir finds the shared corpora beside the repository (the folder
// holding go.mod), or skips the test: they are not part of the project.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the package; cannot locate ../shared/corpus")
		}
		dir = parent
	}
	corpus := filepath.Join(filepath.Dir(dir), "shared", "corpus")
	if fi, err := os.Stat(corpus); err != nil || !fi.IsDir() {
		t.Skipf("the shared corpora are not at %s; skipping", corpus)
	}
	return corpus
}

// allEvents reads the whole log.
func allEvents(t testing.TB, store events.Store) []events.Event {
	t.Helper()
	var out []events.Event
	after := events.Start
	for {
		page, err := store.ReadAll(context.Background(), events.ReadAllOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// writeFiles writes name → content under a new temp dir and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// outcomeOf finds the outcome of a slug (or, for a failed input, a
// source) in a summary.
func outcomeOf(t testing.TB, s Summary, slugOrSource string) Outcome {
	t.Helper()
	for _, o := range s.Posts {
		if o.Slug == slugOrSource || o.Source == slugOrSource {
			return o
		}
	}
	t.Fatalf("no outcome for %q in %+v", slugOrSource, s.Posts)
	return Outcome{}
}

// tokens mints access tokens a test verifier accepts.
type tokens struct {
	key      ed25519.PrivateKey
	kid      string
	verifier *auth.Verifier
}

func newTokens(t testing.TB) *tokens {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := auth.Thumbprint(pub)
	set := auth.JWKS{Keys: []auth.JWK{auth.Ed25519JWK(kid, pub)}}
	v, err := auth.NewVerifier(auth.KeySetFunc(func(context.Context) (auth.JWKS, error) { return set, nil }),
		auth.VerifierConfig{Issuer: "yunqi-test", Audience: "yunqi-test"})
	if err != nil {
		t.Fatal(err)
	}
	return &tokens{key: priv, kid: kid, verifier: v}
}

func (tk *tokens) mint(t testing.TB, user string, roles ...string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "yunqi-test", Subject: user, Audience: jwt.ClaimStrings{"yunqi-test"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Roles: append([]string{auth.RoleMember}, roles...),
		Name:  user,
	})
	tok.Header["kid"], tok.Header["typ"] = tk.kid, auth.TokenType
	s, err := tok.SignedString(tk.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is the service on a fresh store, its API and pages on one
// router, its projection running.
type fixture struct {
	t      testing.TB
	store  *sqlitestore.Store
	svc    *Service
	tokens *tokens
	server *httpserver.Server
}

func newFixture(t testing.TB, tune ...func(*Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, openStore(t), newTokens(t), tune...)
}

// newFixtureOn is a fixture on a given log and tokens: a second service
// started on the log of the first.
func newFixtureOn(t testing.TB, store *sqlitestore.Store, tk *tokens, tune ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, store: store, tokens: tk}
	cfg := Config{Verifier: f.tokens.verifier, DataDir: t.TempDir()}
	for _, fn := range tune {
		fn(&cfg)
	}
	var err error
	f.svc, err = New(cfg, f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := f.svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	f.server = httpserver.New(httpserver.Options{})
	f.svc.Mount(f.server.Router())
	pages.Mount(f.server.Router())
	ui.Mount(f.server.Router())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	f.waitReady()
	return f
}

func (f *fixture) waitReady() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.svc.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			f.t.Fatal("the archive did not catch up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sync waits until the projection has seen everything in the log.
func (f *fixture) sync() {
	f.t.Helper()
	head, err := f.store.Head(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !f.svc.archive.follower.WaitFor(ctx, head) {
		f.t.Fatal("the archive did not reach the head of the log")
	}
}

// importFiles imports files written to a temp folder.
func (f *fixture) importFiles(blog string, files map[string]string) Summary {
	f.t.Helper()
	sum, err := ImportFiles(context.Background(), f.store, []string{writeFiles(f.t, files)}, ImportOptions{Blog: blog})
	if err != nil {
		f.t.Fatal(err)
	}
	f.sync()
	return sum
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, b)
	}
	return v
}

// do sends a request through the fixture's router; more headers come as
// name, value pairs.
func (f *fixture) do(method, target, token string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, r)
	return w
}

// multipartBody builds a multipart/form-data body of files (name → content).
func multipartBody(t testing.TB, files ...[2]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "a plain field is not a file")
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}
