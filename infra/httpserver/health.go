package httpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ReadyCheck reports why the process cannot serve yet (a projection still
// catching up, an index being rebuilt), or nil when it can. It must answer
// quickly: /readyz gives all checks together readyTimeout.
type ReadyCheck func(ctx context.Context) error

type readyCheck struct {
	name  string
	check ReadyCheck
}

const readyTimeout = 2 * time.Second

// AddReadyCheck registers a readiness condition under a name that /readyz
// reports it by.
func (s *Server) AddReadyCheck(name string, check ReadyCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readyCheck{name, check})
}

// healthz says the process is up and serving HTTP, nothing more: a failing
// dependency must not get a live process restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

type readyReport struct {
	Status string            `json:"status"` // "ready" or "not ready"
	Checks map[string]string `json:"checks"` // name → "ok" or why not
}

// readyz runs every check. The messages are meant for operators and come
// from the checks themselves, which word them for that.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := append([]readyCheck(nil), s.checks...)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rep := readyReport{Status: "ready", Checks: map[string]string{}}
	if s.stopping.Load() {
		rep.Status = "not ready"
		rep.Checks["server"] = "shutting down"
	}
	for _, c := range checks {
		if err := c.check(ctx); err != nil {
			rep.Status = "not ready"
			rep.Checks[c.name] = err.Error()
		} else {
			rep.Checks[c.name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}
