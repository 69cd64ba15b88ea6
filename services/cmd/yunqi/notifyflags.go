package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/notify"
)

// notifyFlags configure how the notifier mails people.
type notifyFlags struct {
	SMTPURL      string
	SMTPFrom     string
	DKIMKeyFile  string
	DKIMSelector string
	DKIMDomain   string
	MailLease    time.Duration
}

func (f *notifyFlags) register(set *config.Set) {
	set.String(&f.SMTPURL, "smtp-url", "",
		"SMTP server for notification email: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (default: none, notifications stay in the inbox)",
		config.Redact(notify.RedactSMTPURL),
		config.Check(func(v string) error {
			if v == "" {
				return nil
			}
			_, err := notify.ParseSMTPURL(v)
			return err
		}))
	set.String(&f.SMTPFrom, "smtp-from", "", "sender address of notification email (required with --smtp-url)")
	set.String(&f.DKIMKeyFile, "dkim-key-file", "", "PEM private key that DKIM-signs every notification email (default: unsigned)")
	set.String(&f.DKIMSelector, "dkim-selector", "", "DKIM selector under which the key's public half is published in DNS")
	set.String(&f.DKIMDomain, "dkim-domain", "", "DKIM signing domain (default: the domain of --smtp-from)")
	set.Duration(&f.MailLease, "mail-lease", time.Minute,
		"how long a mail one notifier claimed is left to it before another notifier takes it over (it may have died mid-send)",
		config.Check(func(d time.Duration) error {
			if d < time.Second || d > time.Hour {
				return errors.New("must be from 1s to 1h")
			}
			return nil
		}))
}

// mailer is the configured mailer, nil without --smtp-url.
func (f *notifyFlags) mailer() (notify.Mailer, error) {
	if f.SMTPURL == "" {
		if f.SMTPFrom != "" || f.DKIMKeyFile != "" {
			return nil, fmt.Errorf("--smtp-from and --dkim-key-file need --smtp-url")
		}
		return nil, nil
	}
	return notify.NewSMTPMailer(notify.SMTPConfig{URL: f.SMTPURL, From: f.SMTPFrom,
		DKIMKeyFile: f.DKIMKeyFile, DKIMSelector: f.DKIMSelector, DKIMDomain: f.DKIMDomain})
}

// notifyKeyFile signs unsubscribe links; notifiers sharing a log share it.
func notifyKeyFile(dataDir string) string {
	return filepath.Join(dataDir, "keys", "notify-unsubscribe.key")
}

// siteURL is where mail links point: --public-url, or this server itself.
func siteURL(public string, addr net.Addr) string {
	if public != "" {
		return public
	}
	if addr == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
