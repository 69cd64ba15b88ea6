package conference

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzTicketVerify: a gate reads whatever a QR code holds. Only a ticket
// this conference signed verifies; everything else is ErrTicketInvalid or
// ErrTicketExpired, never a panic.
func FuzzTicketVerify(f *testing.F) {
	key, err := openTicketKey(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)
	valid, err := key.sign("yunqi-2026", "yunqi-2026.0193a5d0-0000-7000-8000-000000000000", "m1", now, now.Add(48*time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-4] + "AAAA")
	f.Add(strings.ToUpper(valid))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := key.verify(raw, now)
		switch {
		case err == nil && raw != valid && (c.Subject != "yunqi-2026.0193a5d0-0000-7000-8000-000000000000" || c.Edition != "yunqi-2026"):
			t.Fatalf("%q verified as %+v, which was never signed", raw, c)
		case err != nil && err != ErrTicketInvalid && err != ErrTicketExpired:
			t.Fatalf("%q refused with an unclassified error %v", raw, err)
		}
	})
}

// FuzzCheckInBatch: an upload from a gate device is JSON a stranger with
// the gate role (or a broken device) may have written. It is answered
// 200 with one result per scan, or a 4xx problem; never a 5xx.
func FuzzCheckInBatch(f *testing.F) {
	site := newGateFixture(f)
	f.Add(`{"gate":"east","device":"d1","scans":[{"token":"` + site.ok + `","scanned_at":"2026-12-07T10:00:00Z"}]}`)
	f.Add(`{"gate":"east","device":"d1","scans":[{"token":"x","scanned_at":"yesterday"},{"token":null}]}`)
	f.Add(`{"gate":"","device":"d1","scans":[]}`)
	f.Add(`{"gate":"east","device":"d1","scans":[{"token":"` + site.revoked + `","scanned_at":"9999-01-01T00:00:00Z"}]}`)
	f.Add(`null`)
	f.Add(`{"gate":"east","device":"d1","scans":{}}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/conference/checkins/batch", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		site.svc.handleCheckInBatch(w, r)
		switch {
		case w.Code >= 500:
			t.Fatalf("%q answered %d: %s", body, w.Code, w.Body)
		case w.Code == http.StatusOK:
			var out batchResponse
			var in batchInput
			if err := json.NewDecoder(bytes.NewReader(w.Body.Bytes())).Decode(&out); err != nil {
				t.Fatalf("%q: the answer is not JSON: %s", body, w.Body)
			}
			json.Unmarshal([]byte(body), &in)
			if len(out.Results) != len(in.Scans) {
				t.Fatalf("%q: %d results for %d scans", body, len(out.Results), len(in.Scans))
			}
			for _, res := range out.Results {
				switch res.Status {
				case ScanCheckedIn, ScanDuplicate, ScanIsRevoked, ScanInvalid:
				default:
					t.Fatalf("%q: a result with status %q", body, res.Status)
				}
			}
		}
	})
}
