package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Message is one email as the notifier hands it to a Mailer.
type Message struct {
	ID       string // the notification id; the Message-ID is <ID@domain>
	Kind     string // X-Yunqi-Kind
	To       string
	Subject  string
	Text     string
	HTML     string
	Date     time.Time
	Unsub    string // the one-click unsubscribe URL; empty: none
	Language string
}

// Mailer delivers messages. Send calls done for each message as soon as
// the server has answered it (nil: accepted), so that the acceptance is
// recorded before the next message goes; a DeliveryError says whether
// trying later may help.
type Mailer interface {
	Send(ctx context.Context, msgs []Message, done func(i int, err error))
	// Check connects and logs in, to tell a wrong setting at start-up.
	Check(ctx context.Context) error
	String() string // the server, without secrets, for logs
}

// DeliveryError is a refusal, with whether trying later may help.
type DeliveryError struct {
	Temporary bool
	Reason    string
}

func (e *DeliveryError) Error() string { return e.Reason }

// ErrLogInRefused: the server refused the configured user and password.
var ErrLogInRefused = errors.New("the SMTP server refused the log-in")

// SMTPConfig is how to reach the SMTP server.
type SMTPConfig struct {
	// URL is smtp://user:pass@host:587 (STARTTLS when the server offers
	// it) or smtps://user:pass@host:465 (TLS from the first byte).
	URL  string
	From string // the sender address
	// DKIM signs every message when KeyFile (a PEM private key) is set;
	// Domain defaults to the sender's.
	DKIMKeyFile, DKIMSelector, DKIMDomain string
	Timeout                               time.Duration
}

type smtpTarget struct {
	implicitTLS bool
	host        string
	port        int
	user, pass  string
}

// ParseSMTPURL reads an smtp:// or smtps:// URL. Its errors never repeat
// the URL, which may hold a password.
func ParseSMTPURL(raw string) (smtpTarget, error) {
	var t smtpTarget
	u, err := url.Parse(raw)
	if err != nil {
		return t, errors.New("not a URL (want smtp://user:pass@host:587 or smtps://user:pass@host:465)")
	}
	switch u.Scheme {
	case "smtp":
		t.port = 587
	case "smtps":
		t.implicitTLS, t.port = true, 465
	default:
		return t, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	t.host = u.Hostname()
	if t.host == "" {
		return t, errors.New("no host (want smtp://host:587)")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		t.port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return t, errors.New("takes no path or query")
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
	}
	return t, nil
}

// RedactSMTPURL is the URL with its password masked, for logs.
func RedactSMTPURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an SMTP URL that does not parse)"
	}
	return u.Redacted()
}

type smtpMailer struct {
	cfg    SMTPConfig
	target smtpTarget
	opts   []mail.Option
	domain string // of the sender: the right-hand side of Message-IDs
}

// NewSMTPMailer checks the configuration; nothing is dialled yet.
func NewSMTPMailer(cfg SMTPConfig) (Mailer, error) {
	t, err := ParseSMTPURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("--smtp-url: %w", err)
	}
	if cfg.From == "" {
		return nil, errors.New("--smtp-from: an SMTP server needs a sender address")
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("--smtp-from: %q is not an address", cfg.From)
	}
	at := strings.LastIndexByte(cfg.From, '@')
	domain := strings.TrimSuffix(cfg.From[at+1:], ">")
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(t.port), mail.WithTimeout(cfg.Timeout), mail.WithHELO(heloName())}
	if t.implicitTLS {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if t.user != "" {
		auth := mail.SMTPAuthAutoDiscover
		if ip := net.ParseIP(t.host); t.host == "localhost" || ip != nil && ip.IsLoopback() {
			// A relay on this machine (a local MTA, a test server) may take
			// a password without TLS: it never crosses a network. Anywhere
			// else the mechanism is discovered and a password is sent only
			// encrypted, as go-mail insists.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(t.user), mail.WithPassword(t.pass))
	}
	if cfg.DKIMKeyFile != "" {
		pemBytes, err := os.ReadFile(cfg.DKIMKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--dkim-key-file: %w", err)
		}
		key, err := mail.PrivKeyFromPEM(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("--dkim-key-file: not a PEM private key: %w", err)
		}
		d := cfg.DKIMDomain
		if d == "" {
			d = domain
		}
		sel := cfg.DKIMSelector
		if sel == "" {
			return nil, errors.New("--dkim-selector: a DKIM key needs the selector its public key is published under")
		}
		opts = append(opts, mail.WithAlwaysDKIMSign(mail.NewDKIMSigner(d, sel, key)))
	}
	return &smtpMailer{cfg: cfg, target: t, opts: opts, domain: domain}, nil
}

func heloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \t") {
		return h
	}
	return "localhost"
}

func (m *smtpMailer) String() string { return RedactSMTPURL(m.cfg.URL) }

func (m *smtpMailer) client() (*mail.Client, error) {
	return mail.NewClient(m.target.host, m.opts...)
}

func (m *smtpMailer) Check(ctx context.Context) error {
	c, err := m.client()
	if err != nil {
		return err
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if isAuthError(err) {
			return fmt.Errorf("%w (%s): %v", ErrLogInRefused, m, reasonOf(err))
		}
		return fmt.Errorf("cannot reach the SMTP server %s: %v", m, reasonOf(err))
	}
	return c.CloseWithSMTPClient(sc)
}

func isAuthError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "auth") || strings.Contains(s, " 535") || strings.Contains(s, "535 ")
}

// reasonOf is an error's text without anything a log must not hold: go-mail
// errors name the server and the SMTP answer, never the password.
func reasonOf(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

func (m *smtpMailer) build(msg Message) (*mail.Msg, error) {
	mm := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := mm.From(m.cfg.From); err != nil {
		return nil, &DeliveryError{Reason: "sender: " + err.Error()}
	}
	if err := mm.To(msg.To); err != nil {
		return nil, &DeliveryError{Reason: "the address does not parse"}
	}
	mm.Subject(msg.Subject)
	mm.SetMessageIDWithValue(msg.ID + "@" + m.domain)
	mm.SetDateWithValue(msg.Date)
	mm.SetGenHeader("X-Yunqi-Kind", msg.Kind)
	if msg.Language != "" {
		mm.SetGenHeader("Content-Language", msg.Language)
	}
	mm.SetGenHeader("Auto-Submitted", "auto-generated")
	if msg.Unsub != "" {
		// RFC 8058: a POST to the URL unsubscribes without further question.
		mm.SetGenHeader("List-Unsubscribe", "<"+msg.Unsub+">")
		mm.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	mm.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		mm.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	return mm, nil
}

func (m *smtpMailer) Send(ctx context.Context, msgs []Message, done func(i int, err error)) {
	c, err := m.client()
	if err == nil {
		err = c.DialWithContext(ctx)
	}
	if err != nil {
		for i := range msgs {
			done(i, &DeliveryError{Temporary: true, Reason: reasonOf(err)})
		}
		return
	}
	defer c.Close()
	for i, msg := range msgs {
		mm, err := m.build(msg)
		if err == nil {
			if err = c.Send(mm); err != nil {
				temp := true
				if mm.HasSendError() {
					temp, err = mm.SendErrorIsTemp(), mm.SendError()
				}
				err = &DeliveryError{Temporary: temp, Reason: reasonOf(err)}
			}
		}
		done(i, err)
	}
}
