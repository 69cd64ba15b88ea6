// Package notify tells people what happened to what they own: it follows
// the log, turns the events that concern a person into notifications in
// their language, keeps them in an inbox, mails them over SMTP to verified
// addresses, and gathers everything a person owns into "My Yunqi". The
// inbox and the overview are projections of the log; what the notifier
// did with each mail is recorded in the log too, so that any number of
// notifiers, restarted at any moment, neither skip nor repeat a mail.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the notifier's configuration.
type Config struct {
	// Verifier checks access tokens (required for the API).
	Verifier *auth.Verifier
	// Mailer sends email; nil keeps notifications in the inbox only.
	Mailer Mailer
	// BaseURL is the site's address for the links in mail
	// (https://yunqi.example); required with a Mailer.
	BaseURL string
	// Key signs unsubscribe links; notifiers that share a log share it.
	// Empty: the key in KeyFile, created when missing.
	Key     []byte
	KeyFile string
	// Name identifies this notifier in the mail it claims (default: host
	// name, process id and a random suffix).
	Name string
	// Lease is how long a claimed mail is left to its notifier before
	// another takes it over (default 1 minute).
	Lease time.Duration
	// MaxAttempts before a mail counts as failed (default 8); RetryBase is
	// the first wait, doubled after each failure (default 30 s).
	MaxAttempts int
	RetryBase   time.Duration
	// Workers send in parallel, Batch messages per SMTP connection
	// (defaults 4 and 25).
	Workers, Batch int
	// CursorEvery is how often the mail cursor is recorded (default 5 s).
	CursorEvery time.Duration
	Clock       func() time.Time
	Registry    prometheus.Registerer
}

// Service is the notifier.
type Service struct {
	cfg      Config
	store    events.Store
	log      *slog.Logger
	model    *model
	follower *events.Follower
	render   *renderer
	outbox   *outbox
	unsubKey []byte
	metrics  *metrics
	// mailProblem is why mail cannot go out (a refused log-in), for /readyz.
	mailProblem atomic.Pointer[string]
}

// New builds the notifier; nothing is read until Run.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if store == nil {
		return nil, errors.New("notify: no event store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "notify")
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.Batch == 0 {
		cfg.Batch = 25
	}
	if cfg.CursorEvery == 0 {
		cfg.CursorEvery = 5 * time.Second
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.Name = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Mailer != nil && cfg.BaseURL == "" {
		return nil, errors.New("notify: mail needs the site's address for its links")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	r, err := newRenderer()
	if err != nil {
		return nil, err
	}
	key := cfg.Key
	if len(key) < 32 {
		var err error
		if key, err = loadKey(cfg.KeyFile); err != nil {
			return nil, err
		}
	}
	s := &Service{cfg: cfg, store: store, log: logger, model: newModel(), render: r, unsubKey: key, metrics: newMetrics(cfg.Registry)}
	s.follower = &events.Follower{Name: "notify", Store: store, Logger: logger, Apply: s.apply}
	s.outbox = newOutbox(s)
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

// mailOn reports whether this notifier sends email.
func (s *Service) mailOn() bool { return s.cfg.Mailer != nil }

func (s *Service) apply(e events.Event) {
	if !interesting(e.Type) {
		return
	}
	payload, err := events.Types.Decode(e)
	if err != nil {
		s.log.Warn("skipping an event the notifier cannot read", "type", e.Type, "id", e.ID, "err", err)
		return
	}
	s.model.apply(e, payload, s.mailOn())
	if s.mailOn() && s.follower.Ready() {
		s.outbox.poke()
	}
}

// interesting is a cheap test on the type before decoding: most of a busy
// log (check-in scans, reviews, scores) notifies nobody.
func interesting(typ string) bool {
	switch typ {
	case "conference.TicketScanRefused", "alliance.ReviewVoted", "alliance.ReviewNoteAdded", "contest.ScoreRecorded",
		"identity.SessionStarted", "identity.SessionRefreshed", "identity.SessionRevoked", "identity.EmailClaimed":
		return false
	}
	return true
}

// Run follows the log and, with mail on, sends until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.mailOn() {
		if err := s.startMail(ctx); err != nil {
			return err
		}
		go s.checkMailer(ctx)
		go s.outbox.run(ctx)
	} else {
		s.log.Info("no SMTP server configured (--smtp-url): notifications go to the inbox only")
	}
	return s.follower.Run(ctx)
}

// startMail finds where mail decisions stand: the last cursor, or, the
// first time mail is switched on, the end of the log as it is now, so that
// switching mail on never mails a log's history.
func (s *Service) startMail(ctx context.Context) error {
	for {
		last, err := s.store.ReadStream(ctx, events.MailCursorStream("main"), events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
		if err == nil && len(last) == 1 {
			var c events.MailCursorMoved
			if p, derr := events.Types.Decode(last[0]); derr == nil {
				c, _ = p.(events.MailCursorMoved)
			}
			s.model.mailAfter = c.Position
			return nil
		}
		if err == nil || errors.Is(err, events.ErrStreamNotFound) {
			head, herr := s.store.ReadAll(ctx, events.ReadAllOptions{Backwards: true, Count: 1})
			if herr == nil {
				p := events.Start
				if len(head) == 1 {
					p = head[0].Position
				}
				if aerr := s.appendCursor(ctx, p); aerr != nil {
					return aerr
				}
				s.model.mailAfter = p
				s.log.Info("mail switched on: mailing what happens from now on", "server", s.cfg.Mailer.String())
				return nil
			}
			err = herr
		}
		s.log.Warn("cannot read the mail cursor yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// checkMailer logs in once at start, so that a wrong password is said at
// once (in the log and on /readyz) rather than at the first mail.
func (s *Service) checkMailer(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.cfg.Mailer.Check(cctx)
	switch {
	case err == nil:
		s.log.Info("SMTP server answers", "server", s.cfg.Mailer.String())
	case errors.Is(err, ErrLogInRefused):
		msg := err.Error() + "; check the user and password of --smtp-url"
		s.mailProblem.Store(&msg)
		s.log.Error("SMTP log-in refused: mail waits until the setting is fixed", "server", s.cfg.Mailer.String(), "err", err)
	default:
		s.log.Warn("SMTP server not reachable now; mail is retried with backoff", "server", s.cfg.Mailer.String(), "err", err)
	}
}

// Ready reports whether the inbox has caught up, and whether mail can go.
func (s *Service) Ready(context.Context) error {
	if !s.follower.Ready() {
		return errors.New("notifications are catching up with the event log")
	}
	if p := s.mailProblem.Load(); p != nil {
		return errors.New(*p)
	}
	return nil
}

// caughtUp waits briefly until the model shows position p.
func (s *Service) caughtUp(ctx context.Context, p events.Position) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.follower.WaitFor(ctx, p)
}

func (s *Service) appendMail(ctx context.Context, id string, expected events.ExpectedRevision, payload any) (events.AppendResult, error) {
	p, err := events.Types.New(payload, events.Metadata{Actor: events.ActorSystem, Visibility: events.System})
	if err != nil {
		return events.AppendResult{}, err
	}
	return s.store.Append(ctx, events.MailStream(id), expected, p)
}

func (s *Service) appendCursor(ctx context.Context, p events.Position) error {
	ev, err := events.Types.New(events.MailCursorMoved{Position: p}, events.Metadata{Actor: events.ActorSystem, Visibility: events.System})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, events.MailCursorStream("main"), events.Any, ev)
	return err
}

// compose writes a due mail in its recipient's language as it is now.
func (s *Service) compose(om *outMail) (Message, error) {
	s.model.mu.RLock()
	p := s.model.people[om.Note.User]
	name, lang := "", "zh-CN"
	if p != nil {
		name, lang = p.Name, p.Lang
	}
	// The arguments are read after the lock is let go, and an erasure
	// may blank a name in them meanwhile: the mail is written from a copy.
	note := *om.Note
	note.Args = maps.Clone(note.Args)
	s.model.mu.RUnlock()
	om = &outMail{ID: om.ID, Note: &note, To: om.To}
	link := s.cfg.BaseURL + om.Note.Link
	r, err := s.render.message(lang, name, link, s.cfg.BaseURL+pathPrefs, om.Note)
	if err != nil {
		return Message{}, err
	}
	msg := Message{ID: om.ID, Kind: om.Note.Kind, To: om.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		Date: om.Note.Created, Language: langOf(lang)}
	if info, _ := kindOf(om.Note.Kind); info.Optional {
		msg.Unsub = s.cfg.BaseURL + pathUnsubscribe + "?t=" + s.unsubToken(om.Note.User, om.Note.Kind, s.now().Add(unsubValid))
	}
	return msg, nil
}
