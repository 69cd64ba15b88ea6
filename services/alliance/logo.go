package alliance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers the decoder that checks GIF logos
	_ "image/jpeg" // and JPEG
	_ "image/png"  // and PNG
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// Logo errors, answered as field errors of "logo".
var (
	ErrLogoTooLarge = errors.New("logo too large")
	ErrLogoNotImage = errors.New("logo is not an image")
)

// logoTypes are the image types a logo may have, by sniffed type. SVG is
// not among them: it can carry script.
var logoTypes = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// logoContentTypes maps an extension back to the type a logo is served as.
var logoContentTypes = map[string]string{"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}

// logoStore keeps uploaded logos by content address: the same image
// uploaded twice is one file, and a name says exactly which bytes it is.
type logoStore struct {
	dir string
	max int64
}

func openLogoStore(dir string, max int64) (*logoStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("logo directory: %w", err)
	}
	return &logoStore{dir: dir, max: max}, nil
}

// put checks and stores an image, returning its name. The type is sniffed
// from the bytes, never taken from the client, and the image must decode
// (as far as its header) so that a renamed file of another kind fails.
func (l *logoStore) put(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, l.max+1))
	if err != nil {
		return "", err
	}
	if int64(len(data)) > l.max {
		return "", ErrLogoTooLarge
	}
	ext, ok := logoTypes[http.DetectContentType(data)]
	if !ok {
		return "", ErrLogoNotImage
	}
	if ext != "webp" { // the standard library has no WebP decoder; the sniffed RIFF header has to do
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > 4096 || cfg.Height > 4096 {
			return "", ErrLogoNotImage
		}
	}
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:]) + "." + ext
	path := filepath.Join(l.dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	tmp, err := os.CreateTemp(l.dir, ".upload-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return name, nil
}

// open returns a stored logo and its content type.
func (l *logoStore) open(name string) (*os.File, string, error) {
	if !logoPattern.MatchString(name) {
		return nil, "", ErrNotFound
	}
	f, err := os.Open(filepath.Join(l.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return f, logoContentTypes[filepath.Ext(name)[1:]], nil
}

// checkLogo refuses a profile naming a logo that was never uploaded.
func (s *Service) checkLogo(name string) error {
	if name == "" {
		return nil
	}
	f, _, err := s.logos.open(name)
	if err != nil {
		return &ValidationError{Fields: []FieldError{{Field: "logo", Code: "logo", Message: "must be the name of an uploaded logo"}}}
	}
	f.Close()
	return nil
}

// UploadLogo stores a logo and returns its name for a profile's logo field.
func (s *Service) UploadLogo(r io.Reader) (string, error) { return s.logos.put(r) }
