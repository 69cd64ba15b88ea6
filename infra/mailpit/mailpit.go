// Package mailpit runs a real SMTP server for tests: mailpit, started as a
// child process and read back through its HTTP API. Tests that need it skip
// when the binary is missing, unless YUNQI_REQUIRE_MAILPIT is set (CI), so
// `go test ./...` works on a machine with nothing but Go.
package mailpit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Version is the mailpit the tests are written against (.ci/run installs it).
const Version = "v1.33.1"

// Server is a running mailpit.
type Server struct {
	SMTP string // host:port
	API  string // http://host:port
}

// Find locates the binary: $YUNQI_MAILPIT, mailpit on PATH, or GOPATH/bin.
func Find() (string, bool) {
	if p := os.Getenv("YUNQI_MAILPIT"); p != "" {
		return p, true
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, true
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs mailpit until the test ends, accepting any log-in; extra
// flags are added (for example --smtp-allowed-recipients to make it refuse
// some addresses).
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return StartWith(tb, append([]string{"--smtp-auth-accept-any", "--smtp-auth-allow-insecure"}, extra...)...)
}

// StartWith runs mailpit with only these SMTP flags.
func StartWith(tb testing.TB, flags ...string) *Server {
	tb.Helper()
	bin, ok := Find()
	if !ok {
		msg := "mailpit (a real SMTP server) is not installed: go install github.com/axllent/mailpit@" + Version + " or set YUNQI_MAILPIT"
		if os.Getenv("YUNQI_REQUIRE_MAILPIT") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	smtpPort, httpPort := freePort(tb), freePort(tb)
	s := &Server{SMTP: "127.0.0.1:" + strconv.Itoa(smtpPort), API: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	args := append([]string{"--smtp", s.SMTP, "--listen", strings.TrimPrefix(s.API, "http://"),
		"--max", "0", "--database", filepath.Join(tb.TempDir(), "mailpit.db")}, flags...)
	cmd := exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(tb.TempDir(), "mailpit.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start mailpit: %v", err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); log.Close() })
	for i := 0; ; i++ {
		if resp, err := http.Get(s.API + "/api/v1/messages?limit=1"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 100 {
			b, _ := os.ReadFile(log.Name())
			tb.Fatalf("mailpit did not answer: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// Summary is one stored message as mailpit lists it.
type Summary struct {
	ID        string
	MessageID string
	To        []struct{ Address string }
	Subject   string
}

// Messages lists every stored message, newest first.
func (s *Server) Messages(tb testing.TB) []Summary {
	tb.Helper()
	var out []Summary
	for start := 0; ; {
		var page struct {
			Messages []Summary `json:"messages"`
			Total    int       `json:"messages_count"`
		}
		s.get(tb, fmt.Sprintf("/api/v1/messages?limit=500&start=%d", start), &page)
		out = append(out, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return out
		}
	}
}

// Count is how many messages are stored.
func (s *Server) Count(tb testing.TB) int {
	tb.Helper()
	var page struct {
		Total int `json:"messages_count"`
	}
	s.get(tb, "/api/v1/messages?limit=1", &page)
	return page.Total
}

// Message is one stored message in full.
type Message struct {
	Text, HTML string
	Headers    map[string][]string
}

// Get reads one message with its headers.
func (s *Server) Get(tb testing.TB, id string) Message {
	tb.Helper()
	var m Message
	s.get(tb, "/api/v1/message/"+url.PathEscape(id), &m)
	s.get(tb, "/api/v1/message/"+url.PathEscape(id)+"/headers", &m.Headers)
	return m
}

func (s *Server) get(tb testing.TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(s.API + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("mailpit %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("mailpit %s: %v", path, err)
	}
}
