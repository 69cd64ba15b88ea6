package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A browser that has logged in to an account carries a device cookie that
// says so, and passes the per-account backstop brake (see throttle.go):
// whoever floods an account with wrong passwords cannot keep its owner out
// on a device the owner has used. The cookie is a random device id and,
// per account logged in to from it, an HMAC of the id and the account's
// id under a key in the keys directory. Checking it needs neither the log
// nor a table, and a successful log-in only computes one HMAC. It cannot
// be forged without the key, and it names no account: the tags only match
// an account someone already names.

// DeviceCookieName is the device cookie.
const DeviceCookieName = "yunqi_device"

const (
	deviceKeyFile   = "device-cookie.key"
	deviceIDBytes   = 16
	deviceTagBytes  = 16
	maxDeviceTags   = 5 // accounts remembered per browser, newest first
	deviceCookieAge = 400 * 24 * time.Hour
)

// devices issues and checks device cookies.
type devices struct{ key []byte }

// openDevices reads the device key from dataDir's keys directory, making
// it on first start. Of two processes starting at once, one key wins: it
// is written aside and linked into place, which fails if a key is there,
// so nobody reads half a key.
func openDevices(dataDir string) (devices, error) {
	dir := keysDir(dataDir)
	path := filepath.Join(dir, deviceKeyFile)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			key, err := base64.RawStdEncoding.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || len(key) < 32 {
				return devices{}, fmt.Errorf("%s does not hold a device key", path)
			}
			return devices{key: key}, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return devices{}, fmt.Errorf("device key: %w", err)
		}
		if err := writeDeviceKey(dir, path); err != nil && !errors.Is(err, os.ErrExist) {
			return devices{}, err
		}
	}
	return devices{}, fmt.Errorf("device key %s: written but not readable", path)
}

func writeDeviceKey(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".device-*.tmp")
	if err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	_, err = tmp.WriteString(base64.RawStdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	return os.Link(tmp.Name(), path)
}

func (d devices) tag(deviceID, userID string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("yunqi device\x00" + deviceID + "\x00" + userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:deviceTagBytes])
}

// parseDevice splits a cookie value into its device id and tags; ok is
// false for anything this service did not write.
func parseDevice(value string) (id string, tags []string, ok bool) {
	if len(value) > 400 {
		return "", nil, false
	}
	parts := strings.Split(value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || len(raw) != deviceIDBytes || len(parts) > 1+maxDeviceTags {
		return "", nil, false
	}
	return parts[0], parts[1:], true
}

// belongs reports whether the cookie value says this browser has logged
// in to the account userID.
func (d devices) belongs(value, userID string) bool {
	id, tags, ok := parseDevice(value)
	if !ok || userID == "" {
		return false
	}
	want := []byte(d.tag(id, userID))
	for _, t := range tags {
		if hmac.Equal([]byte(t), want) {
			return true
		}
	}
	return false
}

// remember returns the cookie value after userID logged in on the browser
// that sent value (empty or not ours: a new device id).
func (d devices) remember(value, userID string) string {
	id, tags, ok := parseDevice(value)
	if !ok {
		raw := make([]byte, deviceIDBytes)
		_, _ = rand.Read(raw)
		id, tags = base64.RawURLEncoding.EncodeToString(raw), nil
	}
	mine := d.tag(id, userID)
	out := []string{id, mine}
	for _, t := range tags {
		if t != mine && len(out) <= maxDeviceTags {
			out = append(out, t)
		}
	}
	return strings.Join(out, ".")
}

// deviceCookie is the request's device cookie value, "" when none.
func deviceCookie(r *http.Request) string {
	c, err := r.Cookie(DeviceCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// rememberDevice sets the device cookie after userID logged in. It lives
// long (a device is known for as long as browsers keep a cookie), and is
// HttpOnly and SameSite=Lax like the session cookies.
func (s *Service) rememberDevice(w http.ResponseWriter, r *http.Request, userID string) {
	http.SetCookie(w, &http.Cookie{
		Name:     DeviceCookieName,
		Value:    s.devices.remember(deviceCookie(r), userID),
		Path:     "/",
		MaxAge:   int(deviceCookieAge.Seconds()),
		HttpOnly: true,
		Secure:   s.secureCookies(r),
		SameSite: http.SameSiteLaxMode,
	})
}
