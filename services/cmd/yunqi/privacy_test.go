package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/esdbstore/esdbtest"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestErasureLeavesNoReadableCopy is the person's erasure end to end on
// the binary: before it the log, its export and its backup hold the
// member's email and name only sealed; after it not even the operator's
// opened export shows them, the credentials get 401, and the address signs
// up again.
func TestErasureLeavesNoReadableCopy(t *testing.T) {
	data := t.TempDir()
	base, _ := serve(t, data, rateOff...)
	const email, name = "shred.me@example.com", "Shredded Person"
	const pw = "correct horse battery staple"
	if resp, body := call(t, "POST", base+"/api/identity/users", "", `{"email":"`+email+`","password":"`+pw+`","display_name":"`+name+`"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-up: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in: %d %s", resp.StatusCode, body)
	}
	token := accessToken(t, body)
	if resp, body := call(t, "PUT", base+"/api/identity/me/profile", token,
		`{"display_name":"`+name+`","bio":"`+name+` writes Go","city":"杭州","skills":["go"],"links":[],"publish":{"display_name":true,"bio":true,"city":true,"skills":true,"links":false}}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("profile: %d %s", resp.StatusCode, body)
	}

	// The person's own copy: a ZIP with a file per kind, their email in it.
	resp, body = call(t, "GET", base+"/api/identity/me/export", token, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	z, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("the export is not a ZIP: %v", err)
	}
	files := map[string]string{}
	for _, f := range z.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !json.Valid(b) {
			t.Errorf("%s in the export is not JSON", f.Name)
		}
		files[f.Name] = string(b)
	}
	for _, want := range []string{"manifest.json", "account.json", "profile.json", "account-timeline.json", "registrations.json",
		"applications.json", "teams-and-submissions.json", "posts.json", "notifications.json", "email-preferences.json"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the export has no %s (files %v)", want, slices.Sorted(maps.Keys(files)))
		}
	}
	if !strings.Contains(files["account.json"], email) || !strings.Contains(files["profile.json"], "writes Go") {
		t.Errorf("the export does not hold the person's own data: %s", files["account.json"])
	}

	sealed, err := runCmd(t, "events", "export", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, email) || strings.Contains(sealed, name) || strings.Contains(sealed, "argon2id") {
		t.Fatal("events export shows personal data in clear")
	}
	opened, err := runCmd(t, "events", "export", "--open", "--data", data)
	if err != nil || !strings.Contains(opened, email) || !strings.Contains(opened, name) {
		t.Fatalf("events export --open does not show the member's data (%v)", err)
	}
	before := filepath.Join(t.TempDir(), "before.db")
	if _, err := runCmd(t, "backup", "--data", data, "--to", before); err != nil {
		t.Fatal(err)
	}
	keysBefore := filepath.Join(t.TempDir(), "keys-before.db")
	if _, err := runCmd(t, "backup", "--keys", "--data", data, "--to", keysBefore); err != nil {
		t.Fatal(err)
	}
	assertNotIn(t, before, email, name)

	if resp, body := call(t, "DELETE", base+"/api/identity/me", token, `{"password":"wrong password"}`); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "password") {
		t.Fatalf("erasure with a wrong password: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "DELETE", base+"/api/identity/me", token, `{"password":"`+pw+`"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("erasure: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("log-in after erasure: %d, want 401", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", base+"/api/identity/me", token, ""); resp.StatusCode == http.StatusOK {
		t.Error("the erased account's token still reads /api/identity/me")
	}
	// Erasing again changes nothing: the old token is refused, or the
	// erasure answers as done.
	if resp, _ := call(t, "DELETE", base+"/api/identity/me", token, `{"password":"`+pw+`"}`); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a second erasure with the old token: %d", resp.StatusCode)
	}

	after, err := runCmd(t, "events", "export", "--open", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(after, email) || strings.Contains(after, name) {
		t.Error("the operator's opened export still shows the erased person")
	}
	afterDB := filepath.Join(t.TempDir(), "after.db")
	if _, err := runCmd(t, "backup", "--data", data, "--to", afterDB); err != nil {
		t.Fatal(err)
	}
	assertNotIn(t, afterDB, email, name)
	// The key store itself forgot the key.
	assertNotIn(t, filepath.Join(data, "keys.db"), email, name)

	// Restoring the key backup from before the erasure does not bring the
	// person back: the erasure list and the log's erasure are re-applied.
	if out, err := runCmd(t, "keys", "import", "--data", data, "--from", keysBefore); err != nil {
		t.Fatalf("keys import: %v %s", err, out)
	}
	again, err := runCmd(t, "events", "export", "--open", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again, email) {
		t.Error("restoring an old key backup brought the erased person's data back")
	}

	// The address is free again, at once.
	var resp2 *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp2, body = call(t, "POST", base+"/api/identity/users", "", `{"email":"`+email+`","password":"`+pw+`","display_name":"New Person"}`)
		if resp2.StatusCode == http.StatusCreated || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp2.StatusCode != http.StatusCreated {
		t.Errorf("sign-up with the erased address: %d %s", resp2.StatusCode, body)
	}
}

// TestUsersErase is the staff erasure from the command line.
func TestUsersErase(t *testing.T) {
	data := t.TempDir()
	base, _ := serve(t, data, rateOff...)
	token, _ := account(t, base, "erase.me@example.com")
	if _, err := runCmd(t, "users", "erase", "--data", data, "--email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no account has the email address") {
		t.Errorf("erasing an unknown address: %v", err)
	}
	out, err := runCmd(t, "users", "erase", "--data", data, "--email", "Erase.Me@example.com")
	if err != nil || !strings.Contains(out, "erased account") {
		t.Fatalf("users erase: %v %s", err, out)
	}
	if resp, _ := call(t, "GET", base+"/api/identity/me", token, ""); resp.StatusCode == http.StatusOK {
		t.Error("the erased account still reads /api/identity/me")
	}
	if _, err := runCmd(t, "users", "erase", "--data", data, "--email", "erase.me@example.com"); err == nil {
		t.Error("a second erasure by address found the account again")
	}
	logged, err := runCmd(t, "events", "export", "--data", data)
	if err != nil || !strings.Contains(logged, `"identity.AccountErased"`) || !strings.Contains(logged, `"by":"staff"`) || !strings.Contains(logged, `"actor":"cli:`) {
		t.Errorf("the erasure is not recorded as a staff erasure by the operator (%v)", err)
	}
}

// TestServeRefusesClearTextAndAWrongMasterKey: a log written before sealing
// is refused with the command that seals it, and a wrong master key is
// refused naming the file, before anything is written.
func TestServeRefusesClearTextAndAWrongMasterKey(t *testing.T) {
	data := t.TempDir()
	base, stop := serve(t, data, rateOff...)
	account(t, base, "ada@example.com")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.key")
	if err := os.WriteFile(wrong, bytes.Repeat([]byte("ab"), 32), 0o600); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(data, "events.db"))
	_, err := runCmd(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--master-key-file", wrong)
	if err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "does not open the key store") {
		t.Errorf("serve with a wrong master key: %v", err)
	}
	if now, _ := os.Stat(filepath.Join(data, "events.db")); now.Size() != info.Size() {
		t.Error("serve with a wrong master key wrote to the log")
	}
	if _, err := runCmd(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--master-key-file", filepath.Join(t.TempDir(), "missing.key")); err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("serve with a missing master key file: %v", err)
	}

	clear := t.TempDir()
	seedClearText(t, clear)
	_, err = runCmd(t, "serve", "--data", clear, "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "clear text") || !strings.Contains(err.Error(), "yunqi events migrate-personal") {
		t.Errorf("serve on a clear-text log: %v", err)
	}
}

func assertNotIn(t *testing.T, file string, needles ...string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, wal := range []string{file + "-wal"} {
		if more, err := os.ReadFile(wal); err == nil {
			b = append(b, more...)
		}
	}
	for _, n := range needles {
		if bytes.Contains(b, []byte(n)) {
			t.Errorf("%s holds %q", filepath.Base(file), n)
		}
	}
}

// TestMigratePersonal turns a log from before sealing (personal data in
// clear, claim streams named by the plain hash) into a sealed one that the
// same people log in to.
func TestMigratePersonal(t *testing.T) {
	// A log as an older binary wrote it: made here by opening a sealed log
	// to clear text and naming the claim stream the old way.
	d1 := t.TempDir()
	base, stop := serve(t, d1, rateOff...)
	const email, pw = "old.timer@example.com", "correct horse battery staple"
	token, _ := account(t, base, email)
	if resp, body := call(t, "PUT", base+"/api/identity/me/profile", token, `{"display_name":"Old Timer","bio":"here since 2009","publish":{"display_name":true,"bio":true}}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("profile: %d %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	opened, err := runCmd(t, "events", "export", "--open", "--data", d1)
	if err != nil {
		t.Fatal(err)
	}
	var old strings.Builder
	claim := ""
	for line := range strings.Lines(opened) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["stream"] == sealedMarkerStream {
			continue
		}
		delete(rec["metadata"].(map[string]any), "key_version")
		if s := rec["stream"].(string); strings.HasPrefix(s, "emailclaim-") {
			claim = s
			rec["stream"] = "emailclaim-" + identity.LegacyClaimHash(email)
		}
		b, _ := json.Marshal(rec)
		old.Write(append(b, '\n'))
	}
	if claim == "" {
		t.Fatal("no claim stream in the export")
	}
	// An event of an older schema version, with its byline outside the
	// personal member: the migration upcasts it before sealing.
	oldBlog, _ := json.Marshal(map[string]any{"id": "0193a5d0-0000-7000-8000-0000000000b1", "stream": "blog-oldtimer", "type": "blog.BlogCreated",
		"revision": 0, "recorded": "2016-10-13T01:00:00Z",
		"data":     map[string]any{"name": "oldtimer", "title": "Since 2009", "owner": "0193a5d0-0000-7000-8000-0000000000b2", "owner_name": "Old Timer"},
		"metadata": map[string]any{"actor": "system", "visibility": "public", "schema_version": 1}})
	old.Write(append(oldBlog, '\n'))
	file := filepath.Join(t.TempDir(), "old.jsonl")
	if err := os.WriteFile(file, []byte(old.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	d2 := t.TempDir()
	if out, err := runCmd(t, "events", "import", "--data", d2, file); err != nil {
		t.Fatalf("import: %v %s", err, out)
	}
	assertContains(t, filepath.Join(d2, "events.db"), email)

	if _, err := runCmd(t, "serve", "--data", d2, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "migrate-personal") {
		t.Fatalf("serve on the old log: %v", err)
	}
	out, err := runCmd(t, "events", "migrate-personal", "--data", d2)
	if err != nil || !strings.Contains(out, "sealed the personal data") || !strings.Contains(out, "1 address claim streams renamed") {
		t.Fatalf("migrate-personal: %v %s", err, out)
	}
	assertNotIn(t, filepath.Join(d2, "events.db"), email, "Old Timer", "here since 2009")
	if left, _ := filepath.Glob(filepath.Join(d2, "events.db.*")); len(left) != 0 {
		t.Errorf("the clear-text log was left behind: %v", left)
	}
	again, err := runCmd(t, "events", "migrate-personal", "--data", d2)
	if err != nil || !strings.Contains(again, "nothing to migrate") {
		t.Errorf("a second migration: %v %s", err, again)
	}

	base, _ = serve(t, d2, rateOff...)
	resp, body := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in after the migration: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", base+"/api/identity/me/profile", accessToken(t, body), ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "here since 2009") {
		t.Errorf("the profile after the migration: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", base+"/api/blog/blogs/oldtimer", "", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Old Timer") {
		t.Errorf("the upcast blog after the migration: %d %s", resp.StatusCode, body)
	}
}

func assertContains(t *testing.T, file, needle string) {
	t.Helper()
	b, _ := os.ReadFile(file)
	if more, err := os.ReadFile(file + "-wal"); err == nil {
		b = append(b, more...)
	}
	if !bytes.Contains(b, []byte(needle)) {
		t.Fatalf("%s does not hold %q", filepath.Base(file), needle)
	}
}

// TestErasureOnEventStoreDB: on the production path the key store lives
// in the event store; personal data reaches the server sealed, and after
// an erasure no event the server holds reads as the person, whoever opens
// it with the master key.
func TestErasureOnEventStoreDB(t *testing.T) {
	es := esdbtest.Start(t)
	data := t.TempDir()
	base, _ := serve(t, data, append([]string{"--eventstore", es.URL()}, rateOff...)...)
	waitUntil(t, func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	const email, name, pw = "esdb.shred@example.com", "Kurrent Shredded", "correct horse battery staple"
	if resp, body := call(t, "POST", base+"/api/identity/users", "", `{"email":"`+email+`","password":"`+pw+`","display_name":"`+name+`"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-up: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in: %d %s", resp.StatusCode, body)
	}
	token := accessToken(t, body)

	all := func() []events.Event {
		t.Helper()
		evs, err := es.Store().ReadAll(t.Context(), events.ReadAllOptions{Count: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	holds := func(evs []events.Event, s string) bool {
		for _, e := range evs {
			if bytes.Contains(e.Data, []byte(s)) || bytes.Contains([]byte(e.Stream), []byte(s)) {
				return true
			}
		}
		return false
	}
	before := all()
	if holds(before, email) || holds(before, name) {
		t.Fatal("the event store holds the member's personal data in clear")
	}
	keyStreams := 0
	for _, e := range before {
		if strings.HasPrefix(e.Stream, "datakey-") {
			keyStreams++
		}
	}
	if keyStreams == 0 {
		t.Fatal("no data key is kept in the event store")
	}
	c := commonConfig{Data: data}
	openAll := func() []events.Event {
		t.Helper()
		p, err := openPersonalLog(t.Context(), &c, es.URL(), false, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		evs, err := p.ReadAll(t.Context(), events.ReadAllOptions{Count: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if opened := openAll(); !holds(opened, email) || !holds(opened, name) {
		t.Fatal("before the erasure the master key does not open the person's data: the check below would prove nothing")
	}

	if resp, body := call(t, "DELETE", base+"/api/identity/me", token, `{"password":"`+pw+`"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("erasure: %d %s", resp.StatusCode, body)
	}
	// Whoever holds the master key opens the server's events: nothing of
	// the person reads any more.
	if opened := openAll(); holds(opened, email) || holds(opened, name) {
		t.Error("after the erasure, the events opened with the master key still show the person")
	}
	if resp, _ := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("log-in after erasure: %d, want 401", resp.StatusCode)
	}
}
