package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// unsubValid is how long an unsubscribe link in a mail works. RFC 8058
// asks that it work without logging in; a limit keeps an old forwarded
// mail from changing someone's settings years later.
const unsubValid = 60 * 24 * time.Hour

var (
	errTokenForged  = errors.New("the unsubscribe link is not one Yunqi made")
	errTokenExpired = errors.New("the unsubscribe link has expired")
)

// loadKey reads the unsubscribe key, creating it on first start. Without a
// file (tests), a key of this process alone is used.
func loadKey(path string) ([]byte, error) {
	if path == "" {
		k := make([]byte, 32)
		rand.Read(k)
		return k, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		k, derr := base64.RawStdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(k) < 32 {
			return nil, fmt.Errorf("notify: %s does not hold a key", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("notify: %w", err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	// O_EXCL: of two notifiers starting at once, one key wins and the
	// other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	_, err = f.WriteString(base64.RawStdEncoding.EncodeToString(k) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return k, nil
}

// unsubToken is user.kind.expiry.mac, base64url: what the link changes is
// readable, and only this key could have made it.
func (s *Service) unsubToken(user, kind string, until time.Time) string {
	body := user + "." + kind + "." + strconv.FormatInt(until.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(body)) + "." + s.mac(body)
}

func (s *Service) mac(body string) string {
	h := hmac.New(sha256.New, s.unsubKey)
	h.Write([]byte("unsubscribe\x00" + body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (s *Service) readUnsubToken(t string) (user, kind string, err error) {
	b64, mac, ok := strings.Cut(t, ".")
	if !ok || len(t) > 512 {
		return "", "", errTokenForged
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", "", errTokenForged
	}
	body := string(raw)
	if !hmac.Equal([]byte(mac), []byte(s.mac(body))) {
		return "", "", errTokenForged
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 {
		return "", "", errTokenForged
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", errTokenForged
	}
	if s.now().After(time.Unix(exp, 0)) {
		return parts[0], parts[1], errTokenExpired
	}
	return parts[0], parts[1], nil
}
