// Package blog owns the blog archive: posts of named blogs (an archive
// such as the Go Blog, or a book whose chapters are posts), imported from
// folders of Markdown, zips of them, RSS and Atom feeds and WordPress
// exports, and shown as pages and through a JSON API. Every post is a
// stream of events (imported, revised, withdrawn); the lists are an
// in-memory projection of those streams, rebuilt from the log at start.
package blog

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the service's configuration; zero values take the defaults
// listed per field.
type Config struct {
	// Verifier checks the access tokens of the organizer-only upload
	// (required): in one binary identity's, in split mode one over the
	// published JWKS.
	Verifier *auth.Verifier
	// MaxUploadBytes bounds one upload request (default 32 MiB). A zip is
	// further bounded by what it unpacks to.
	MaxUploadBytes int64
	// DataDir holds the images writers upload, in blog-images/
	// (required).
	DataDir string
	// MaxImageBytes bounds one uploaded image (default 5 MiB).
	MaxImageBytes int64
	// PublicURL is the site's address as readers reach it
	// (https://yunqi.example), for the absolute links of feeds, the
	// sitemap and books. Empty: taken from each request's host.
	PublicURL string
	// Clock replaces time.Now in tests.
	Clock func() time.Time
}

// DefaultMaxUploadBytes is the default upload limit: a zipped archive of a
// few thousand posts, or a WordPress export of a busy blog.
const DefaultMaxUploadBytes = 32 << 20

// Service is the blog service.
type Service struct {
	cfg      Config
	store    events.Store
	log      *slog.Logger
	archive  *archive
	renderer *renderer
	images   *imageStore
	feeds    feedCache
}

// New builds the service. Run follows the log; until it has caught up,
// Ready says so.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if store == nil {
		return nil, errors.New("blog: no event store")
	}
	if cfg.Verifier == nil {
		return nil, errors.New("blog: no token verifier for the upload API")
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.DataDir == "" {
		return nil, errors.New("blog: no data directory for uploaded images")
	}
	if cfg.MaxImageBytes <= 0 {
		cfg.MaxImageBytes = DefaultMaxImageBytes
	}
	images, err := openImageStore(filepath.Join(cfg.DataDir, "blog-images"), cfg.MaxImageBytes)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "blog")
	return &Service{
		cfg:      cfg,
		store:    store,
		log:      logger,
		archive:  newArchive(store, logger),
		renderer: newRenderer(),
		images:   images,
		feeds:    feedCache{entries: map[string]builtFeed{}},
	}, nil
}

// Run keeps the archive's read model current until ctx ends. The store
// must stay open until Run has returned.
func (s *Service) Run(ctx context.Context) error {
	return s.archive.follower.Run(ctx)
}

// Ready reports, as /readyz wants it, whether the read model has caught up
// with the log.
func (s *Service) Ready(context.Context) error {
	if !s.archive.follower.Ready() {
		return errors.New("the blog archive is catching up with the event log")
	}
	return nil
}
