package contest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// attachments keeps uploaded files content-addressed: a file's name is the
// SHA-256 of its bytes, so the same file uploaded twice is stored once and
// an entry's revision names exactly the bytes it was judged on.
type attachments struct {
	dir string
	max int64
}

func openAttachments(dataDir string, max int64) (*attachments, error) {
	dir := filepath.Join(dataDir, "contest", "attachments")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("attachments directory: %w", err)
	}
	return &attachments{dir: dir, max: max}, nil
}

// allowedTypes are what entries may attach, by sniffed content, never by
// the name or the type the client claims: an HTML file called slides.pdf
// is refused.
var allowedTypes = map[string]bool{
	"application/pdf": true,
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"application/zip": true,
	"text/plain":      true,
}

// Attachment errors carry what the edge tells the user.
var (
	ErrAttachmentTooLarge = errors.New("attachment too large")
	ErrAttachmentType     = errors.New("attachment type not accepted")
	ErrAttachmentEmpty    = errors.New("attachment is empty")
)

// sniff names the type of a file from its first bytes.
func sniff(head []byte) string {
	ct := http.DetectContentType(head)
	base, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(base)
}

// put stores r and returns its hash, type and size. The file is written
// to a temporary name and renamed into place, so a reader never sees half
// a file under a hash.
func (a *attachments) put(r io.Reader) (sum, contentType string, size int64, err error) {
	tmp, err := os.CreateTemp(a.dir, ".upload-*")
	if err != nil {
		return "", "", 0, err
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	head := make([]byte, 512)
	n, rerr := io.ReadFull(r, head)
	if rerr != nil && !errors.Is(rerr, io.ErrUnexpectedEOF) && !errors.Is(rerr, io.EOF) {
		return "", "", 0, rerr
	}
	head = head[:n]
	if n == 0 {
		return "", "", 0, ErrAttachmentEmpty
	}
	contentType = sniff(head)
	if !allowedTypes[contentType] {
		return "", contentType, 0, ErrAttachmentType
	}
	w := io.MultiWriter(tmp, h)
	if _, err = w.Write(head); err != nil {
		return "", "", 0, err
	}
	rest, err := io.Copy(w, io.LimitReader(r, a.max-int64(n)+1))
	if err != nil {
		return "", "", 0, err
	}
	size = int64(n) + rest
	if size > a.max {
		return "", contentType, size, ErrAttachmentTooLarge
	}
	if err = tmp.Sync(); err != nil {
		return "", "", 0, err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if err = tmp.Close(); err != nil {
		return "", "", 0, err
	}
	if err = os.Rename(tmp.Name(), a.path(sum)); err != nil {
		return "", "", 0, err
	}
	return sum, contentType, size, nil
}

func (a *attachments) path(sum string) string { return filepath.Join(a.dir, sum) }

// has reports whether a file with this hash is stored.
func (a *attachments) has(sum string) bool {
	if !shaPattern.MatchString(sum) {
		return false
	}
	_, err := os.Stat(a.path(sum))
	return err == nil
}

func (a *attachments) open(sum string) (*os.File, error) {
	if !shaPattern.MatchString(sum) {
		return nil, os.ErrNotExist
	}
	return os.Open(a.path(sum))
}

// attachmentFor finds the attachment sum of team as who may fetch it.
// Members get anything a revision of theirs named; organisers, and judges
// the entry is assigned to in either round, what was entered. Every
// refusal is the same not-found, so a judge learns nothing of entries
// outside their assignment, nor of hashes in the store.
func (c *Contest) attachmentFor(who auth.Principal, team, sum string) (events.SubmissionAttachment, error) {
	t := c.Teams[team]
	if t == nil {
		return events.SubmissionAttachment{}, ErrTeamNotFound
	}
	if t.member(who.UserID) {
		if a, ok := t.Files[sum]; ok {
			return a, nil
		}
		return events.SubmissionAttachment{}, ErrTeamNotFound
	}
	staff := who.HasRole(auth.RoleOrganizer) ||
		(who.HasRole(auth.RoleJudge) && (c.Assigned(who.UserID, team, events.RoundReview) || c.Assigned(who.UserID, team, events.RoundFinals)))
	if a, ok := t.EnteredFiles[sum]; ok && staff {
		return a, nil
	}
	return events.SubmissionAttachment{}, ErrTeamNotFound
}

// handleDownload serves an attachment as a download that cannot run: the
// bytes were sniffed on upload, but a browser must still never render a
// contestant's file in the site's origin.
func (s *Service) handleDownload(w http.ResponseWriter, r *http.Request) {
	sum := chi.URLParam(r, "sha256")
	v, err := s.read(r.Context(), contestID(r), func(c *Contest, _ time.Time) (any, error) {
		return c.attachmentFor(principal(r), chi.URLParam(r, "team"), sum)
	})
	if errors.Is(err, ErrContestNotFound) {
		err = ErrTeamNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := v.(events.SubmissionAttachment)
	f, err := s.files.open(a.SHA256)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+rfc5987(a.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	// Who may fetch it depends on the caller, so no shared cache keeps it.
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+a.SHA256+`"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// rfc5987 percent-encodes every byte of s outside RFC 5987's attr-char, so
// no name can end the header value or add a parameter.
func rfc5987(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
