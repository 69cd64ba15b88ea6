package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestConferenceFlow drives the conference API end to end through the real
// app, holding every answer against /api/openapi.json: an edition with a
// one-seat sub-forum, a registrant and a waitlisted one, the ticket checked
// in at one gate and refused at another, the seat holder cancelling and the
// waitlisted one promoted through an offer.
func TestConferenceFlow(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)
	expect := func(method, pattern string, w *httptest.ResponseRecorder, want int) {
		t.Helper()
		if w.Code != want {
			t.Errorf("%s %s = %d, want %d: %s", method, pattern, w.Code, want, w.Body)
		}
		if err := doc.check(method, pattern, w); err != nil {
			t.Error(err)
		}
	}
	user := func(email, name, role string) (id, token string) {
		id = a.signUp(email, name)
		if role != "" {
			if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), email, role, "test"); err != nil {
				t.Fatal(err)
			}
		}
		token, _ = a.logIn(email)
		return id, token
	}
	_, org := user("org@example.com", "Organiser", auth.RoleOrganizer)
	_, gate := user("gate@example.com", "Gate", auth.RoleGate)
	_, ada := user("ada@example.com", "杜勇", "")
	_, bob := user("bob@example.com", "Bob", "")
	_, eve := user("eve@example.com", "Eve", "")

	const (
		editions = "/api/conference/editions"
		edition  = "/api/conference/editions/{edition}"
		sessions = "/api/conference/editions/{edition}/sessions"
		regs     = "/api/conference/editions/{edition}/registrations"
		reg      = "/api/conference/registrations/{id}"
		checkins = "/api/conference/checkins"
	)
	expect("POST", editions, a.do("POST", editions, org, `{"id":"yunqi-2013","name":{"zh":"云栖大会","en":"Yunqi"},"capacity":-3}`), http.StatusUnprocessableEntity)
	expect("POST", editions, a.do("POST", editions, ada, `{}`), http.StatusForbidden)
	expect("POST", editions, a.do("POST", editions, org, `{"id":"yunqi-2013","name":{"zh":"开发者大会","en":"Developer conference"},
		"starts_on":"2033-10-24","ends_on":"2033-10-25","venue":"云栖小镇","capacity":5000}`), http.StatusCreated)
	expect("POST", editions, a.do("POST", editions, org, `{"id":"yunqi-2013","name":{"en":"again"},"capacity":1}`), http.StatusConflict)
	expect("POST", sessions, a.do("POST", "/api/conference/editions/yunqi-2013/sessions", org,
		`{"id":"games","title":"游戏","starts_at":"2033-10-24T09:00:00+08:00","ends_at":"2033-10-24T12:00:00+08:00","capacity":1}`), http.StatusCreated)
	expect("POST", sessions, a.do("POST", "/api/conference/editions/yunqi-2013/sessions", org,
		`{"id":"finance","title":"金融","starts_at":"2033-10-24T11:00:00+08:00","ends_at":"2033-10-24T13:00:00+08:00","capacity":100}`), http.StatusCreated)
	expect("POST", sessions, a.do("POST", "/api/conference/editions/yunqi-2013/sessions", org,
		`{"id":"bad","title":"","starts_at":"2033-10-24T11:00:00+08:00","ends_at":"2033-10-24T10:00:00+08:00","capacity":99999999}`), http.StatusUnprocessableEntity)
	expect("POST", sessions, a.do("POST", "/api/conference/editions/nope/sessions", org, `{}`), http.StatusNotFound)

	path := "/api/conference/editions/yunqi-2013/registrations"
	expect("POST", regs, a.do("POST", path, ada, `{"sessions":["games","finance"]}`), http.StatusUnprocessableEntity) // clashing slots
	expect("POST", regs, a.do("POST", path, ada, `{"sessions":["yunos"]}`), http.StatusUnprocessableEntity)
	expect("POST", regs, a.do("POST", "/api/conference/editions/nope/registrations", ada, `{}`), http.StatusNotFound)
	w := a.do("POST", path, ada, `{"sessions":["games"]}`, "Idempotency-Key", "ada-1")
	expect("POST", regs, w, http.StatusCreated)
	var adaReg struct {
		ID       string
		Status   string
		Sessions []struct{ ID, Status string }
	}
	json.Unmarshal(w.Body.Bytes(), &adaReg)
	if adaReg.Status != "confirmed" || adaReg.Sessions[0].Status != "confirmed" {
		t.Fatalf("ada: %s", w.Body)
	}
	again := a.do("POST", path, ada, `{"sessions":["games"]}`, "Idempotency-Key", "ada-1")
	expect("POST", regs, again, http.StatusCreated)
	if again.Body.String() != w.Body.String() {
		t.Errorf("a retried key answered %s, first %s", again.Body, w.Body)
	}
	dup := a.do("POST", path, ada, `{"sessions":["games"]}`)
	expect("POST", regs, dup, http.StatusConflict)
	if !strings.Contains(dup.Header().Get("Location"), adaReg.ID) {
		t.Errorf("duplicate does not point to %s: %s", adaReg.ID, dup.Header())
	}
	w = a.do("POST", path, bob, `{"sessions":["games"]}`)
	expect("POST", regs, w, http.StatusCreated)
	var bobReg struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &bobReg)
	if !strings.Contains(w.Body.String(), `"waitlisted"`) {
		t.Errorf("bob should wait for the full session: %s", w.Body)
	}

	// Counts come from the ledger.
	w = a.do("GET", "/api/conference/editions/yunqi-2013", "", "")
	expect("GET", edition, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"confirmed":2`) {
		t.Errorf("counts: %s", w.Body)
	}

	// Ticket and check-in.
	adaPath := "/api/conference/registrations/" + adaReg.ID
	expect("GET", reg+"/ticket", a.do("GET", adaPath+"/ticket", eve, ""), http.StatusNotFound) // not hers
	w = a.do("GET", adaPath+"/ticket", ada, "")
	expect("GET", reg+"/ticket", w, http.StatusOK)
	var ticket struct{ Token string }
	json.Unmarshal(w.Body.Bytes(), &ticket)
	png := a.do("GET", adaPath+"/ticket.png", ada, "")
	if png.Code != http.StatusOK || !strings.HasPrefix(png.Body.String(), "\x89PNG") {
		t.Errorf("ticket.png is not a PNG")
	}
	scanTicket := func(token, gateName, device string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"token": token, "gate": gateName, "device": device})
		return a.do("POST", checkins, gate, string(b))
	}
	forged := ticket.Token[:len(ticket.Token)-4] + "AAAA"
	expect("POST", checkins, a.do("POST", checkins, gate, `{"token":"`+forged+`","gate":"east","device":"d1"}`), http.StatusUnprocessableEntity)
	expect("POST", checkins, a.do("POST", checkins, ada, `{}`), http.StatusForbidden)

	// Ada cancels: her ticket is revoked, Bob gets the offer, accepts, and
	// has a ticket.
	expect("DELETE", reg, a.do("DELETE", adaPath, bob, ""), http.StatusNotFound)
	expect("DELETE", reg, a.do("DELETE", adaPath, ada, ""), http.StatusOK)
	w = a.do("GET", "/api/conference/editions/yunqi-2013/revocations", gate, "")
	expect("GET", edition+"/revocations", w, http.StatusOK)
	if !strings.Contains(w.Body.String(), adaReg.ID) {
		t.Errorf("revocations lack the cancelled ticket: %s", w.Body)
	}
	expect("POST", checkins, scanTicket(ticket.Token, "east", "d1"), http.StatusConflict) // revoked
	bobPath := "/api/conference/registrations/" + bobReg.ID
	w = a.do("GET", bobPath, bob, "")
	expect("GET", reg, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"offered"`) {
		t.Errorf("bob has no offer after the cancellation: %s", w.Body)
	}
	expect("POST", reg+"/accept", a.do("POST", bobPath+"/accept", bob, ""), http.StatusOK)
	expect("POST", reg+"/accept", a.do("POST", bobPath+"/accept", bob, ""), http.StatusConflict)
	w = a.do("GET", bobPath+"/ticket", bob, "")
	expect("GET", reg+"/ticket", w, http.StatusOK)
	var bobTicket struct{ Token string }
	json.Unmarshal(w.Body.Bytes(), &bobTicket)

	// Bob at the gate: checked in once, a repeat at the same device is
	// flagged, a scan elsewhere refused, and he can no longer cancel.
	expect("POST", checkins, scanTicket(bobTicket.Token, "east", "d1"), http.StatusOK)
	w = scanTicket(bobTicket.Token, "east", "d1")
	expect("POST", checkins, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"duplicate":true`) || !strings.Contains(w.Body.String(), `"first":{"gate":"east"`) {
		t.Errorf("a repeat scan is not flagged with the first entry: %s", w.Body)
	}
	expect("POST", checkins, scanTicket(bobTicket.Token, "west", "d2"), http.StatusConflict)
	expect("DELETE", reg, a.do("DELETE", bobPath, bob, ""), http.StatusConflict)
	w = a.do("GET", "/api/conference/editions/yunqi-2013/conflicts", org, "")
	expect("GET", edition+"/conflicts", w, http.StatusOK)
	if strings.Count(w.Body.String(), `"device":`) != 3 {
		t.Errorf("the conflict report should list Bob's three entries: %s", w.Body)
	}
	w = a.do("GET", bobPath+"/timeline", bob, "")
	expect("GET", reg+"/timeline", w, http.StatusOK)
	for _, kind := range []string{"placed", "waitlisted", "offered", "confirmed", "checked_in"} {
		if !strings.Contains(w.Body.String(), `"kind":"`+kind+`"`) {
			t.Errorf("bob's timeline lacks %s: %s", kind, w.Body)
		}
	}
	if strings.Contains(w.Body.String(), "east") || strings.Contains(w.Body.String(), "d1") {
		t.Errorf("bob's timeline must show the check-in without staff details: %s", w.Body)
	}

	// Organiser list and capacity rules.
	w = a.do("GET", "/api/conference/editions/yunqi-2013/sessions/games/attendees?format=csv", org, "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), bobReg.ID) || !strings.HasPrefix(w.Body.String(), "position,") {
		t.Errorf("csv: %d %s", w.Code, w.Body)
	}
	expect("GET", sessions+"/{session}/attendees", a.do("GET", "/api/conference/editions/yunqi-2013/sessions/games/attendees", org, ""), http.StatusOK)
	expect("PATCH", sessions+"/{session}", a.do("PATCH", "/api/conference/editions/yunqi-2013/sessions/finance", org, `{"capacity":0}`), http.StatusUnprocessableEntity)
	expect("PATCH", edition, a.do("PATCH", "/api/conference/editions/yunqi-2013", org, `{"capacity":1}`), http.StatusOK)
	expect("PATCH", edition, a.do("PATCH", "/api/conference/editions/yunqi-2013", org, `{"capacity":0}`), http.StatusUnprocessableEntity)
	w = a.do("POST", path, eve, `{}`)
	expect("POST", regs, w, http.StatusConflict) // edition full
	expect("POST", edition+"/invite-codes", a.do("POST", "/api/conference/editions/yunqi-2013/invite-codes", org, `{"code":"FEITIAN-5K","ticket_type":"general","max_uses":3}`), http.StatusCreated)
	expect("GET", "/api/conference/ticket-keys", a.do("GET", "/api/conference/ticket-keys", "", ""), http.StatusOK)
}
