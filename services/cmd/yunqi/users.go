package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "users", []command{
		{"grant", "give an account a role", func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
			return roleCmd(ctx, "grant", args, getenv, stdout)
		}},
		{"revoke", "take a role from an account", func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
			return roleCmd(ctx, "revoke", args, getenv, stdout)
		}},
		{"erase", "erase an account and its personal data for ever", eraseCmd},
	}, args, getenv, stdout)
}

const roleAbout = `
%ss a role: reviewer (alliance), judge (contest), gate (check-in staff)
or organizer (everything). Every account is a member; that role cannot be
granted or revoked. The change is an event in the log, so it shows in the
person's timeline and works while 'yunqi serve' runs; it takes effect at
the person's next token refresh. The log records this command's operating
system user as the one who made the change, for staff audits only.`

func roleCmd(ctx context.Context, verb string, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("users " + verb)
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var eventstore string
	eventStoreFlag(set, &eventstore)
	email := fs.String("email", "", "the account's email `ADDRESS` (required)")
	role := fs.String("role", "", "the `ROLE`: reviewer, judge, gate or organizer (required)")
	about := fmt.Sprintf(roleAbout, strings.ToUpper(verb[:1])+verb[1:])
	if help, err := parseFlags(fs, set.Parse, args, stdout, "users "+verb+" --email ADDRESS --role ROLE [flags]", about); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("users %s takes no arguments, got %q (use --email and --role)", verb, fs.Args())
	}
	if strings.TrimSpace(*email) == "" || strings.TrimSpace(*role) == "" {
		return fmt.Errorf("users %s: --email ADDRESS and --role ROLE are both required", verb)
	}
	*role = strings.ToLower(strings.TrimSpace(*role))

	store, err := openPersonalLog(ctx, &c, eventstore, false, c.logger(), nil)
	if err != nil {
		return err
	}
	defer store.Close()
	change, did, didNot := identity.GrantRole, "granted role %s to %s\n", "%s already has role %s; nothing changed\n"
	if verb == "revoke" {
		change, did, didNot = identity.RevokeRole, "revoked role %s from %s\n", "%s does not have role %s; nothing changed\n"
	}
	changed, err := change(ctx, store, store.claims, *email, *role, cliActor(getenv))
	switch {
	case errors.Is(err, identity.ErrUserNotFound):
		return fmt.Errorf("users %s: no account has the email address %q", verb, *email)
	case err != nil:
		return fmt.Errorf("users %s: %w", verb, err)
	case changed:
		fmt.Fprintf(stdout, did, *role, *email)
		fmt.Fprintln(stdout, "It takes effect at their next token refresh.")
	default:
		fmt.Fprintf(stdout, didNot, *email, *role)
	}
	return nil
}

// cliActor names the person at the terminal in the events a command
// writes: "cli:" and their operating-system user name.
func cliActor(getenv func(string) string) string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		// Containers often run as a uid without a passwd entry.
		name = getenv("USER")
	}
	if name == "" {
		name = fmt.Sprintf("uid-%d", os.Getuid())
	}
	return "cli:" + name
}

func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "keys", []command{
		{"rotate", "make a new signing key the one that signs", rotateCmd},
		{"export", "write the people's data keys (wrapped) to move them", keysExportCmd},
		{"import", "add data keys from an export or a backup, keeping every erasure", keysImportCmd},
	}, args, getenv, stdout)
}

const rotateAbout = `
Generates a new Ed25519 signing key in <data>/keys and makes it the one
that signs access tokens. Older keys stay published in the JWKS until the
tokens they signed have expired, so nobody is logged out. A running
'yunqi serve' picks the new key up within a second; retired key files
older than a week are removed. Prints the new key's id (kid), and nothing
else, so that a script can capture it.`

func rotateCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("keys rotate")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	if help, err := parseFlags(fs, set.Parse, args, stdout, "keys rotate [flags]", rotateAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys rotate takes no arguments, got %q", fs.Args())
	}
	// A mistyped --data must not quietly start a second key set that no
	// server reads.
	if fi, err := os.Stat(c.Data); err != nil || !fi.IsDir() {
		return fmt.Errorf("keys rotate: no data directory at %s (check --data, or run 'yunqi serve' first)", c.Data)
	}
	kid, err := identity.RotateKeys(c.Data)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	c.logger().Info("rotated the signing key", "kid", kid, "dir", c.Data)
	fmt.Fprintln(stdout, kid)
	return nil
}
