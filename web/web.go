// Package web is the UI kit the services share: the layout every page lives
// in, the zh-CN and en catalogues and the language control, date and number
// formatting per language, form helpers that tie errors to their fields, the
// security headers and cross-origin protection pages sit behind, the error
// pages, the home page, and the stylesheet and script. It holds no domain
// logic: services bring their own templates and messages (Load) and render
// with it; the frame only links to the account pages under /identity/.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// etags holds a content hash per file, computed once: embedded files have no
// modification time, so without it browsers could never revalidate.
var etags = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return m
}()

// Static serves the embedded assets; mount it with the prefix stripped
// (http.StripPrefix("/static/", web.Static())). Names are not content-hashed
// yet, so browsers may keep a file for an hour and must then revalidate.
func Static() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		etag, ok := etags[name]
		if !ok {
			// Directory listings and unknown names are a plain 404.
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
