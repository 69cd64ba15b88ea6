package auth

import (
	"net/http"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// Problem types of the auth answers, under the server's shared base so that
// every service reports an unauthenticated caller the same way.
const (
	TypeUnauthenticated = httpserver.ProblemBase + "unauthenticated"
	TypeForbidden       = httpserver.ProblemBase + "forbidden"
	TypeAuthUnavailable = httpserver.ProblemBase + "auth-unavailable"
)

func writeProblem(w http.ResponseWriter, r *http.Request, status int, typ, title, detail string) {
	httpserver.WriteProblem(w, r, httpserver.NewProblem(status, typ, title, detail))
}
