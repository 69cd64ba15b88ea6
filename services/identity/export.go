package identity

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// ExportFile is one file of a person's own copy of their data.
type ExportFile struct {
	Name string // e.g. "registrations.json"
	Data any    // written as indented JSON
}

// Exporter adds what another service holds about a person to their copy
// (the notifier's "My Yunqi": registrations, applications, teams and
// submissions, posts, notifications, each with its timeline). lang is the
// language the person reads in.
type Exporter func(ctx context.Context, userID, lang string) ([]ExportFile, error)

type exportAccount struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	DisplayName   string   `json:"display_name"`
	Lang          string   `json:"lang"`
	Roles         []string `json:"roles"`
}

type exportManifest struct {
	Format    string    `json:"format"`
	Generated time.Time `json:"generated"`
	Person    string    `json:"person"`
	Files     []string  `json:"files"`
	// Elsewhere names what this server could not add (a service that runs
	// in another process), so the person knows the copy is partial.
	Elsewhere []string `json:"elsewhere,omitempty"`
}

// exportOf is everything Yunqi holds about the person that they may see:
// a ZIP of one JSON file per kind.
func (s *Service) exportOf(ctx context.Context, userID string) ([]byte, error) {
	u, _, err := loadUser(ctx, s.store, userID)
	if err != nil {
		return nil, err
	}
	lang := u.Lang
	if lang == "" {
		lang = langChinese
	}
	entries, _ := s.timeline.page(u.ID, -1, maxTimelineEntries)
	files := []ExportFile{
		{"account.json", exportAccount{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, DisplayName: u.DisplayName,
			Lang: lang, Roles: u.Roles}},
		{"profile.json", map[string]any{"profile": u.Profile, "published": u.Publish}},
		{"account-timeline.json", entries},
	}
	m := exportManifest{Format: "yunqi-personal-data-1", Generated: s.now().UTC(), Person: u.ID}
	if len(s.cfg.Exporters) == 0 {
		m.Elsewhere = append(m.Elsewhere, "registrations, applications, teams, posts and notifications: the notifier runs in another process; its part is GET /api/notify/export")
	}
	for _, ex := range s.cfg.Exporters {
		more, err := ex(ctx, u.ID, lang)
		if err != nil {
			return nil, err
		}
		files = append(files, more...)
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range files {
		m.Files = append(m.Files, f.Name)
	}
	files = append([]ExportFile{{"manifest.json", m}}, files...)
	for _, f := range files {
		b, err := json.MarshalIndent(f.Data, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", f.Name, err)
		}
		w, err := z.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: m.Generated})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Service) writeExport(w http.ResponseWriter, r *http.Request, userID string) error {
	b, err := s.exportOf(r.Context(), userID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="yunqi-my-data-%s.zip"`, s.now().UTC().Format("2006-01-02")))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// handleExport is GET /api/identity/me/export.
func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if err := s.writeExport(w, r, p.UserID); err != nil {
		s.fail(w, r, err)
	}
}
