package lockfile

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSecondOpenInSameProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index", "LOCK")
	l, err := Acquire(path, "search index data/index")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path, "search index data/index")
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: error = %v, want *HeldError", err)
	}
	if held.Holder.PID != os.Getpid() {
		t.Errorf("holder pid = %d, want %d", held.Holder.PID, os.Getpid())
	}
	re := regexp.MustCompile(`^search index data/index is held by pid \d+ \(lockfile\.test, started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$`)
	if !re.MatchString(err.Error()) {
		t.Errorf("message = %q, want it to match %s", err, re)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	l2, err := Acquire(path, "search index data/index")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// The helper process holds the lock until its stdin closes.
const helperEnv = "LOCKFILE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		l, err := Acquire(path, "test resource")
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		bufio.NewReader(os.Stdin).ReadString('\n')
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestOtherProcessHoldsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	// The pipe stays open, so the helper holds on until it is killed.
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = Acquire(path, "test resource")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("Acquire while another process holds the lock: %v", err)
	}
	if held.Holder.PID != cmd.Process.Pid {
		t.Errorf("holder pid = %d, want the helper's %d", held.Holder.PID, cmd.Process.Pid)
	}
	want := "test resource is held by pid " + strconv.Itoa(cmd.Process.Pid) + " (lockfile.test serve, started "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message = %q, want prefix %q", err, want)
	}
	if time.Since(held.Holder.Started) > time.Minute || held.Holder.Host == "" {
		t.Errorf("holder = %+v", held.Holder)
	}

	// Killing the holder, not a clean release, must free the lock: that is
	// the crash case a pid file gets wrong.
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(path, "test resource")
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	l.Release()
}

func TestCommandHidesFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/usr/bin/yunqi", "serve", "--token", "secret"}, "yunqi serve"},
		{[]string{"yunqi", "--token=secret"}, "yunqi"},
		{nil, "unknown command"},
	} {
		if got := command(tc.args); got != tc.want {
			t.Errorf("command(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestUnknownHolder(t *testing.T) {
	err := &HeldError{Resource: "r", Path: "p"}
	if got := err.Error(); got != "r is held by another process (lock file p)" {
		t.Errorf("message = %q", got)
	}
}
