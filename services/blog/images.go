package blog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the decoder that checks JPEG images
	_ "image/png"  // and PNG
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
)

// Images writers upload for their posts and covers, kept like the
// alliance's logos: files named by the SHA-256 of their bytes, so the same
// image uploaded twice is one file and a name says exactly which bytes it
// is. The log holds only the names, in the Markdown that uses them.

// Image errors, answered as field errors of "image".
var (
	ErrImageTooLarge = errors.New("image too large")
	ErrNotImage      = errors.New("not a PNG, JPEG or WebP image")
)

// DefaultMaxImageBytes bounds one image: a large screenshot or photo.
const DefaultMaxImageBytes = 5 << 20

// maxImageSide bounds an image's width and height in pixels, so that a
// small file cannot unpack into a huge bitmap in a reader's browser.
const maxImageSide = 8000

// imageTypes are the image types a post may carry, by sniffed type. SVG
// is not among them: it can carry script.
var imageTypes = map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}

// ImageMediaTypes maps an image name's extension to its media type.
var imageMediaTypes = map[string]string{"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}

var imageName = regexp.MustCompile(`^[0-9a-f]{64}\.(png|jpg|webp)$`)

type imageStore struct {
	dir string
	max int64
}

func openImageStore(dir string, max int64) (*imageStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blog image directory: %w", err)
	}
	return &imageStore{dir: dir, max: max}, nil
}

// put checks and stores an image and returns its name. The type is
// sniffed from the bytes, never taken from the client, and PNG and JPEG
// must decode as far as their header, so that a renamed file of another
// kind fails.
func (st *imageStore) put(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, st.max+1))
	if err != nil {
		return "", err
	}
	if int64(len(data)) > st.max {
		return "", ErrImageTooLarge
	}
	ext, ok := imageTypes[http.DetectContentType(data)]
	if !ok {
		return "", ErrNotImage
	}
	if ext != "webp" { // the standard library has no WebP decoder; the sniffed RIFF header has to do
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide {
			return "", ErrNotImage
		}
	}
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:]) + "." + ext
	path := filepath.Join(st.dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	tmp, err := os.CreateTemp(st.dir, ".upload-*")
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

// open returns a stored image and its media type.
func (st *imageStore) open(name string) (*os.File, string, error) {
	if !imageName.MatchString(name) {
		return nil, "", os.ErrNotExist
	}
	f, err := os.Open(filepath.Join(st.dir, name))
	if err != nil {
		return nil, "", err
	}
	return f, imageMediaTypes[filepath.Ext(name)[1:]], nil
}

// read returns a stored image's bytes, for the book.
func (st *imageStore) read(name string) ([]byte, string, bool) {
	f, mt, err := st.open(name)
	if err != nil {
		return nil, "", false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, st.max+1))
	if err != nil {
		return nil, "", false
	}
	return data, mt, true
}

func (st *imageStore) exists(name string) bool {
	if !imageName.MatchString(name) {
		return false
	}
	_, err := os.Stat(filepath.Join(st.dir, name))
	return err == nil
}

// UploadImage stores an image and returns its name; /blog/images/<name>
// serves it.
func (s *Service) UploadImage(r io.Reader) (string, error) { return s.images.put(r) }
