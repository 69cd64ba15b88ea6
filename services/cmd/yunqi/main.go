// Command yunqi runs Yunqi: the web server and the operator's tools for the
// event log, all in one binary. Run "yunqi help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "yunqi: %v\n", err)
		os.Exit(1)
	}
}

// logOutput receives the logs of every command; stdout is kept for what a
// command produces (an export, a tail, "listening on …").
var logOutput io.Writer = os.Stderr

// command is one entry of "yunqi help".
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the web server on the embedded engines", serveCmd},
		{"events", "tail, export or import the event log", eventsCmd},
		{"import", "import blog posts from Markdown, feeds or WordPress, also while serve runs", importGroupCmd},
		{"backup", "write a consistent copy of the event log, also while serve runs", backupCmd},
		{"users", "grant or revoke roles, also while serve runs", usersCmd},
		{"keys", "rotate the token signing key, also while serve runs", keysCmd},
		{"search", "rebuild the search index, also while serve runs", searchCmd},
		{"bench", "benchmarks against a server: bench rush", benchCmd},
	}
}

// run is main without the process: arguments, environment and output come
// in, an error goes out, so tests drive the binary in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command given; run 'yunqi help' for the list")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, getenv, stdout)
		}
		printUsage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], getenv, stdout)
		}
	}
	return fmt.Errorf("unknown command %q; run 'yunqi help' for the list", name)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Yunqi (云栖) — an event-sourced platform for a developer community.

Usage: yunqi <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --data (env YUNQI_DATA, default ./data).
Run 'yunqi <command> -h' for a command's flags.
`)
}

// flagSet returns a FlagSet whose errors and usage go nowhere on their own:
// parseFlags decides what to print and where.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with parse and turns -h into the command's usage on
// stdout (help is true: the command has done its job), and a bad flag into
// an error that says where help is.
func parseFlags(fs *flag.FlagSet, parse func([]string) error, args []string, stdout io.Writer, synopsis, about string) (help bool, err error) {
	err = parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: yunqi %s\n\n%s\n", synopsis, strings.TrimSpace(about))
		if hasFlags(fs) {
			fmt.Fprint(stdout, "\nFlags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w\nRun 'yunqi %s -h' for usage", fs.Name(), err, fs.Name())
	}
	return false, nil
}

// runGroup runs one of a command's subcommands ("events tail"), or lists
// them.
func runGroup(ctx context.Context, group string, subs []command, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, "Usage: yunqi %s <command> [flags] [arguments]\n\nCommands:\n", group)
		names := make([]string, len(subs))
		for i, c := range subs {
			fmt.Fprintf(stdout, "  %-8s %s\n", c.name, c.summary)
			names[i] = c.name
		}
		fmt.Fprintf(stdout, "\nRun 'yunqi %s <command> -h' for a command's flags.\n", group)
		if len(args) == 0 {
			return fmt.Errorf("%s: which command? %s", group, orList(names))
		}
		return nil
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdout)
		}
	}
	return fmt.Errorf("%s: unknown command %q; run 'yunqi %s -h' for the list", group, args[0], group)
}

// orList joins names as a sentence would: "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
